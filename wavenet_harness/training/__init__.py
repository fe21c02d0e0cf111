"""Layer 3, training: the loop (loop.py), evaluation, optimizers and schedules (optim.py),
weight averaging, checkpoints (checkpoint.py) and the device (device.py). It knows nothing of
Hydra, sweeps, TensorBoard or run directories: it is handed tensors, listeners and paths."""
