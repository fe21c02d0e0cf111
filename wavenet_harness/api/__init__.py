"""Layer 7, the Python API: train and sweep from a notebook or a script, with the CLI's guarantees.

    import wavenet_harness as wh
    run = wh.train("model=hier", n_hidden=128, max_steps=2000)   # wavenet-train model=hier ...
    sweep = wh.sweep(n_hidden=[64, 128], max_steps=500)          # wavenet-train --multirun n_hidden=64,128 ...

training.py   train(): Hydra's own run of conf/ with the overrides, then the CLI's job
              (validate -> adapter/job.py) in this process: the same run folder, files
              and numbers as `wavenet-train` with the same overrides
sweeping.py   sweep(): `wavenet-train --multirun` itself, in a child process; stop()
results.py    Run and Sweep (a run directory and a sweep folder, read on demand),
              load_run, load_runs, Interrupted
overrides.py  Python arguments -> `key=value` overrides
session.py    one Hydra session at a time; the process left as it was found
views.py      DataFrames and matplotlib plots

It sits on the adapter (layer 6) as the CLI does, and nothing below imports it. Mistakes
raise base/errors.py's UserError kinds with the CLI's one-line message, never SystemExit.
docs/notebook.md says what it guarantees and how it maps to the CLI.
"""

from wavenet_harness.api.results import Interrupted, Run, Sweep, load_run, load_runs
from wavenet_harness.api.sweeping import stop, sweep
from wavenet_harness.api.training import train
from wavenet_harness.base.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    ExtraMissing,
    RunDirError,
    RunDirFull,
    RunDirTaken,
    UsageError,
    UserError,
)

__all__ = [
    "train",
    "sweep",
    "stop",
    "load_run",
    "load_runs",
    "Run",
    "Sweep",
    "Interrupted",
    "UserError",
    "ConfigError",
    "DataError",
    "CheckpointError",
    "RunDirError",
    "RunDirTaken",
    "RunDirFull",
    "UsageError",
    "ExtraMissing",
]
