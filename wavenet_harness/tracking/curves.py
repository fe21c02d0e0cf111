"""Curves read back from a run's TensorBoard events: every scalar, and val against time as well as steps.

`scalars(run_dir)` returns every scalar the run logged (loss/train, loss/train_smooth,
loss/val, opt/lr, ...) as (tag, step, value, wall time) rows: what the Python API's
`Run.curves()` shows. `val_curve(run_dir)` returns the run's `loss/val` points as (minutes
since the run's first logged event, step, val loss). TensorBoard keeps each scalar's wall-clock time, so the
curve shows what a person waited for each val loss: evaluations included. A run that was
resumed also counts the time it lay stopped, so plot fresh runs when time matters.
scripts/plot_val_vs_time.py draws these curves.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from wavenet_harness.base.errors import RunDirError
from wavenet_harness.base.metrics import VAL_LOSS as VAL_TAG


class CurvePoint(NamedTuple):
    minutes: float
    step: int
    val_loss: float


class Scalar(NamedTuple):
    """One logged scalar: its tag, step, value and wall-clock time (seconds since the epoch)."""

    tag: str
    step: int
    value: float
    wall_time: float


def event_dirs(run_dir: Path) -> list[Path]:
    """Folders under run_dir/tb that hold TensorBoard event files (a sweep job's are one level deeper)."""
    tb = Path(run_dir) / "tb"
    return sorted({path.parent for path in tb.rglob("events.out.tfevents.*")}) if tb.is_dir() else []


def scalars(run_dir: str | Path) -> list[Scalar]:
    """Every scalar of the run's events (all of tb/, a sweep job's subfolder too), by tag,
    then step, then time; RunDirError when the run has no events."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folders = event_dirs(Path(run_dir))
    if not folders:
        raise RunDirError(f"{run_dir} has no TensorBoard events (tb/); is it a run directory?")
    rows: list[Scalar] = []
    for folder in folders:
        accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0})
        accumulator.Reload()
        for tag in accumulator.Tags()["scalars"]:
            rows.extend(Scalar(tag, int(e.step), float(e.value), float(e.wall_time)) for e in accumulator.Scalars(tag))
    return sorted(rows, key=lambda row: (row.tag, row.step, row.wall_time))


def val_curve(run_dir: str | Path) -> list[CurvePoint]:
    """The run's loss/val points, in step order, timed from its first logged event."""
    events = scalars(run_dir)
    val = sorted((e for e in events if e.tag == VAL_TAG), key=lambda e: (e.step, e.wall_time))
    if not val:
        raise RunDirError(f"{run_dir} has logged no {VAL_TAG} yet")
    start = min(e.wall_time for e in events)
    return [CurvePoint((e.wall_time - start) / 60.0, e.step, e.value) for e in val]


def last_val_loss(run_dir: str | Path) -> float | None:
    """The run's last logged val loss (None when it has logged none, or its events cannot be read)."""
    try:
        points = val_curve(run_dir)
    except Exception:  # no events, damaged events: the report shows "-", as before
        return None
    return points[-1].val_loss
