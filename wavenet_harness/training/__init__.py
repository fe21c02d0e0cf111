"""Training: the loop (loop.py), optimizers and schedules (optim.py), checkpoints
(checkpoint.py), the device (device.py), one job from config to run directory (job.py)
and a finished run loaded back (trained.py). Nothing here knows the command line."""
