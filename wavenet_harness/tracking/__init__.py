"""Layer 4, tracking: what a run leaves behind and shows: the run directory (rundir.py, the
one owner of its files and locks), TensorBoard (tensorboard.py), diagnostics, the console,
the report (its table and its page), curves and figures, a finished run loaded back (trained.py). Tracking
only listens to training; it never changes what is computed."""
