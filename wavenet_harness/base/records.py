"""A run's record: what its run directory says of it, with one writer and one reader.

A run directory (one job of wavenet-train) holds:
  metrics.json           the record: status ("running" while it trains), losses, params,
                         steps, seconds; while it trains, rewritten at every evaluation and
                         checkpoint with the step reached, the last val loss and the seconds
  checkpoint.pt          the latest checkpoint (training/checkpoint.py writes its content)
  tb/                    TensorBoard events (tracking/tensorboard.py); a job of a sweep writes
                         them to tb/<its swept values>/ (e.g. tb/lr=0.05/), so that
                         TensorBoard's run names say which job a curve is
  starts.json            every start of the run (the first, then each resume): when, the
                         command-line overrides (passwords masked), the step it began at and
                         its max_steps, so a run extended by a resume can be rerun exactly
  traceback.txt          a multirun job that crashed: the whole traceback
  cli.log                Hydra's job log (opened only once something is logged)
  .hydra/overrides.yaml  the command-line overrides Hydra saved for the job
A sweep directory holds job directories (0/, 1/, ...), Hydra's multirun.yaml (the sweep's
config and command line) and, for an Optuna search, optuna.journal.

`RunRecord` is metrics.json as a type, with the job's overrides beside it. The job, a
sweep's failure handler and the sweeper all write it through `write_record`; the sweep
summary, wavenet-report, wavenet-study and the sweeper read it through `load_runs` (every
run under a folder) or `load_run` (one). tracking/rundir.py owns the directories
themselves: claims, locks, where outputs may go.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wavenet_harness.base.files import read_regular_text, write_json_atomic

METRICS_NAME = "metrics.json"
CHECKPOINT_NAME = "checkpoint.pt"
TENSORBOARD_DIR = "tb"
TRACEBACK_NAME = "traceback.txt"
JOURNAL_NAME = "optuna.journal"
STARTS_NAME = "starts.json"
SWEEP_CONFIG_NAME = "multirun.yaml"  # Hydra's: the sweep's config and command-line overrides
HYDRA_DIR = ".hydra"
OVERRIDES_PATH = Path(HYDRA_DIR) / "overrides.yaml"

# How a job can end; "missing" is a job directory without metrics.json (killed before it
# began); a damaged metrics.json reads as "unreadable".
STATUSES = ("ok", "failed", "diverged", "pruned", "interrupted", "running", "missing")


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


@dataclass
class RunRecord:
    """metrics.json of one run, typed; `extra` keeps what else a run reports (eval_seconds,
    scored_weights, compile_seconds, ...) and `overrides` the job's command line."""

    run_dir: Path
    status: str = "missing"
    model: str | None = None
    params: int | None = None
    device: str | None = None
    steps: int | None = None
    max_steps: int | None = None
    train_loss: float | None = None
    val_loss: float | None = None
    seconds: float | None = None
    started_at: str | None = None
    resumed_from_step: int | None = None
    error: str | None = None
    finished_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)

    @property
    def finite_val_loss(self) -> float | None:
        """The val loss when it is a finite number (a diverged run's is not)."""
        return _finite(self.val_loss)

    def get(self, key: str) -> Any:
        """A field or an extra by name (None when the run did not report it)."""
        return getattr(self, key) if key in _FIELDS else self.extra.get(key)

    def number(self, key: str) -> float | None:
        """A numeric field or extra by name, when it is a finite number (the report's columns)."""
        return _finite(self.get(key))

    def update(self, **values: Any) -> None:
        for key, value in values.items():
            if key in _FIELDS:
                setattr(self, key, value)
            else:
                self.extra[key] = value

    def as_json(self) -> dict[str, Any]:
        """What metrics.json holds: every field (error and finished_at once the run has ended
        or has an error), then the extras."""
        ended = self.finished_at is not None
        payload = {
            name: getattr(self, name)
            for name in _WRITTEN
            if ended or name not in _ONLY_WHEN_SET or getattr(self, name) is not None
        }
        payload.update(self.extra)
        return payload

    @classmethod
    def from_json(cls, run_dir: Path, payload: dict[str, Any], overrides: Sequence[str] = ()) -> RunRecord:
        known = {k: v for k, v in payload.items() if k in _FIELDS}
        extra = {k: v for k, v in payload.items() if k not in _FIELDS}
        record = cls(Path(run_dir), **known, extra=extra, overrides=list(overrides))
        if not isinstance(record.status, str):
            record.status = "unreadable"
        return record


_FIELDS = {f.name for f in dataclasses.fields(RunRecord)} - {"run_dir", "extra", "overrides"}
_WRITTEN = [f.name for f in dataclasses.fields(RunRecord) if f.name in _FIELDS]
_ONLY_WHEN_SET = ("error", "finished_at")  # absent from a run that has not ended


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


# ---------------------------------------------------------------- the one writer


def write_record(record: RunRecord) -> None:
    """metrics.json, atomically (a reader sees the old record or the new one, never half)."""
    write_json_atomic(record.run_dir / METRICS_NAME, record.as_json())


def mark_ended(run_dir: Path, status: str, error: str) -> RunRecord:
    """A run that ended outside its own job (it raised, or its sweep was killed): keep what
    it wrote and say how it ended."""
    record = load_run(run_dir)
    if record.status in ("missing", "unreadable"):
        record = RunRecord(Path(run_dir), extra=record.extra)
    record.update(status=status, error=error, finished_at=now())
    write_record(record)
    return record


# ---------------------------------------------------------------- the one reader


def read_metrics(run_dir: Path) -> dict[str, Any]:
    """metrics.json as the plain dict it is ({} if absent, status "unreadable" if damaged or
    not a file): for scripts and tests that look at one key."""
    path = Path(run_dir) / METRICS_NAME
    if not path.exists():
        return {}
    try:
        metrics = json.loads(read_regular_text(path))
    except (OSError, ValueError):
        return {"status": "unreadable"}
    return metrics if isinstance(metrics, dict) else {"status": "unreadable"}


def load_run(run_dir: Path) -> RunRecord:
    """One run's record, with its overrides ("missing" without metrics.json)."""
    run_dir = Path(run_dir)
    return RunRecord.from_json(run_dir, read_metrics(run_dir), read_overrides(run_dir))


def load_runs(root: Path, jobs_of_sweep: bool = False) -> list[RunRecord]:
    """The record of every run under `root` (root itself included), unordered; with
    `jobs_of_sweep`, only the job folders directly inside the sweep folder `root`, in job
    order (0, 1, ..., 10)."""
    folders = sweep_job_dirs(root) if jobs_of_sweep else find_run_dirs(root)
    return [load_run(folder) for folder in folders]


def read_overrides(run_dir: Path) -> list[str]:
    """The command-line overrides Hydra saved for a run ([] if there are none)."""
    import yaml

    try:
        items = yaml.safe_load(read_regular_text(Path(run_dir) / OVERRIDES_PATH))
    except (OSError, yaml.YAMLError):
        return []
    return [str(item) for item in items] if isinstance(items, list) else []


def read_starts(run_dir: Path) -> list[dict[str, Any]]:
    """The run's starts, oldest first ([] if it has no readable starts.json)."""
    try:
        starts = json.loads(read_regular_text(Path(run_dir) / STARTS_NAME)).get("starts")
    except (OSError, ValueError, AttributeError):
        return []
    return [s for s in starts if isinstance(s, dict)] if isinstance(starts, list) else []


def record_start(run_dir: Path, overrides: list[str], from_step: int, max_steps: int) -> None:
    """Add this start to starts.json (written by the process holding the run's lock)."""
    starts = read_starts(run_dir)
    starts.append({"started_at": now(), "from_step": from_step, "max_steps": max_steps, "overrides": list(overrides)})
    write_json_atomic(Path(run_dir) / STARTS_NAME, {"starts": starts})


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
