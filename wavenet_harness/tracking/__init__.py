"""What a run leaves behind and shows: the run directory (rundir.py, the one owner of its
files), TensorBoard (tensorboard.py), diagnostics, the console, the report table. Tracking
only listens to training; it never changes what is computed."""
