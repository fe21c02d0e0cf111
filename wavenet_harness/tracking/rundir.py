"""The run directory: the one owner of its file names, statuses and how they are written and read.

A run directory (one job of wavenet-train) holds:
  metrics.json           status ("running" while it trains), losses, params, steps, seconds
  checkpoint.pt          the latest checkpoint (training/checkpoint.py writes its content)
  tb/                    TensorBoard events (tracking/tensorboard.py)
  traceback.txt          a multirun job that crashed: the whole traceback
  cli.log                Hydra's job log
  .hydra/overrides.yaml  the command-line overrides Hydra saved for the job
A sweep directory holds job directories (0/, 1/, ...) and, for an Optuna search, optuna.journal.

Every file is written through `write_atomic` (temporary file + rename), so a reader
never sees half a file. This module imports nothing from the rest of the package: data,
checkpoints, the job, reports and sweeps all build on it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, IO

METRICS_NAME = "metrics.json"
CHECKPOINT_NAME = "checkpoint.pt"
TENSORBOARD_DIR = "tb"
TRACEBACK_NAME = "traceback.txt"
LOG_NAME = "cli.log"
JOURNAL_NAME = "optuna.journal"
OVERRIDES_PATH = Path(".hydra") / "overrides.yaml"
HYDRA_DIR = ".hydra"

# How a job can end; "missing" is a job directory without metrics.json (killed before it began).
STATUSES = ("ok", "failed", "diverged", "pruned", "interrupted", "running", "missing")


class RunDirError(ValueError):
    """A path that is not the run directory (or the folder of runs) it should be."""


def write_atomic(path: str | os.PathLike, write: Callable[[IO], None], binary: bool = False, suffix: str = ".tmp") -> Path:
    """Write a file through a temporary file in the same folder and rename it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=suffix)
    try:
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | os.PathLike, payload: dict) -> None:
    """Write JSON atomically, so readers never see half a file."""

    def dump(f: IO) -> None:
        json.dump(payload, f, indent=2, sort_keys=True, allow_nan=True)
        f.write("\n")

    write_atomic(path, dump)


def write_metrics(run_dir: Path, metrics: dict[str, Any]) -> None:
    write_json_atomic(run_dir / METRICS_NAME, metrics)


def read_metrics(run_dir: Path) -> dict[str, Any]:
    """A run's metrics.json ({} if absent, status "unreadable" if damaged)."""
    path = Path(run_dir) / METRICS_NAME
    if not path.exists():
        return {}
    try:
        metrics = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"status": "unreadable"}
    return metrics if isinstance(metrics, dict) else {"status": "unreadable"}


def read_overrides(run_dir: Path) -> list[str]:
    """The command-line overrides Hydra saved for a run ([] if there are none)."""
    import yaml

    try:
        items = yaml.safe_load((Path(run_dir) / OVERRIDES_PATH).read_text())
    except (OSError, yaml.YAMLError):
        return []
    return [str(item) for item in items] if isinstance(items, list) else []


def write_traceback(run_dir: Path, text: str) -> None:
    (run_dir / TRACEBACK_NAME).write_text(text)


def is_job_dir(path: Path) -> bool:
    """A job directory: it has metrics.json or Hydra's .hydra/ folder."""
    return (path / METRICS_NAME).exists() or (path / HYDRA_DIR).is_dir()


def find_run_dirs(root: Path) -> list[Path]:
    """Every run folder anywhere under `root` (root itself included), unordered."""
    run_dirs = {p.parent for p in root.rglob(METRICS_NAME)}
    run_dirs |= {p.parent.parent for p in root.rglob(OVERRIDES_PATH.name) if p.parent.name == HYDRA_DIR}
    return list(run_dirs)


def sweep_job_dirs(sweep_dir: Path) -> list[Path]:
    """The job directories directly inside a sweep directory, in job order (0, 1, ..., 10)."""
    candidates = [p for p in sweep_dir.iterdir() if p.is_dir()] if sweep_dir.is_dir() else []
    ordered = sorted(candidates, key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0, p.name))
    return [p for p in ordered if is_job_dir(p)]


def checkpoint_in(path: Path) -> Path:
    """The checkpoint a user means by `path`: the file itself, or the one in a run directory."""
    if not path.exists():
        raise RunDirError(f"{path} does not exist; give a run directory or a checkpoint file")
    if path.is_dir():
        if not (path / CHECKPOINT_NAME).is_file():
            raise RunDirError(f"{path} holds no {CHECKPOINT_NAME}; give the directory of a wavenet-train run")
        return path / CHECKPOINT_NAME
    return path
