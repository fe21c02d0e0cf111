"""Validation curves read back from a run's TensorBoard events, against time as well as steps.

`val_curve(run_dir)` returns the run's `loss/val` points as (minutes since the run's first
logged event, step, val loss). TensorBoard keeps each scalar's wall-clock time, so the
curve shows what a person waited for each val loss: evaluations included. A run that was
resumed also counts the time it lay stopped, so plot fresh runs when time matters.
scripts/plot_val_vs_time.py draws these curves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from wavenet_harness.base.errors import RunDirError
from wavenet_harness.base.metrics import VAL_LOSS as VAL_TAG


class CurvePoint(NamedTuple):
    minutes: float
    step: int
    val_loss: float


def event_dirs(run_dir: Path) -> list[Path]:
    """Folders under run_dir/tb that hold TensorBoard event files (a sweep job's are one level deeper)."""
    tb = Path(run_dir) / "tb"
    return sorted({path.parent for path in tb.rglob("events.out.tfevents.*")}) if tb.is_dir() else []


def val_curve(run_dir: str | Path) -> list[CurvePoint]:
    """The run's loss/val points, in step order, timed from its first logged event."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folders = event_dirs(Path(run_dir))
    if not folders:
        raise RunDirError(f"{run_dir} has no TensorBoard events (tb/); is it a run directory?")
    events: list[tuple[str, Any]] = []  # (tag, TensorBoard's ScalarEvent)
    for folder in folders:
        accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0})
        accumulator.Reload()
        for tag in accumulator.Tags()["scalars"]:
            events.extend((tag, e) for e in accumulator.Scalars(tag))
    val = sorted((e for tag, e in events if tag == VAL_TAG), key=lambda e: (e.step, e.wall_time))
    if not val:
        raise RunDirError(f"{run_dir} has logged no {VAL_TAG} yet")
    start = min(e.wall_time for _, e in events)
    return [CurvePoint((e.wall_time - start) / 60.0, int(e.step), float(e.value)) for e in val]


def last_val_loss(run_dir: str | Path) -> float | None:
    """The run's last logged val loss (None when it has logged none, or its events cannot be read)."""
    try:
        points = val_curve(run_dir)
    except Exception:  # no events, damaged events: the report shows "-", as before
        return None
    return points[-1].val_loss
