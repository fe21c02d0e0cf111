"""How the API shows results in a notebook: tables as pandas DataFrames (where pandas is
installed, else lists of dicts) and the loss plots, drawn with matplotlib (the [plots] extra;
without it a one-line ExtraMissing naming the pip command). Curves are read through
tracking/curves.py; nothing here computes a number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wavenet_harness.base.errors import ExtraMissing
from wavenet_harness.base.extras import has_extra, installed, missing_extra_message
from wavenet_harness.base.metrics import VAL_LOSS
from wavenet_harness.tracking.curves import scalars

SMOOTH_TAG = "loss/train_smooth"


def frame(rows: list[dict[str, Any]]) -> Any:
    """A pandas DataFrame of the rows where pandas is installed; else the rows themselves."""
    if not installed("pandas"):
        return rows
    import pandas

    return pandas.DataFrame(rows)


def pyplot() -> Any:
    """matplotlib.pyplot, or ExtraMissing naming the [plots] extra's pip command."""
    if not has_extra("plots"):
        raise ExtraMissing(missing_extra_message("plots"))
    import matplotlib.pyplot as plt

    return plt


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    _, ax = pyplot().subplots(figsize=(8, 4.5))
    return ax


def _points(rows: list, tag: str) -> tuple[list[int], list[float]]:
    chosen = [(row.step, row.value) for row in rows if row.tag == tag]
    return [step for step, _ in chosen], [value for _, value in chosen]


def plot_run(run_dir: Path, title: str, ax: Any = None) -> Any:
    """The lecture's plot of one run: the train loss's window means, and the val loss."""
    ax = _axes(ax)
    rows = scalars(run_dir)
    ax.plot(*_points(rows, SMOOTH_TAG), label="train (mean of each window of log.smooth_window steps)")
    ax.plot(*_points(rows, VAL_LOSS), marker="o", label="val")
    return _finish(ax, title)


def plot_sweep(jobs: list[tuple[Path, str]], title: str, ax: Any = None) -> Any:
    """Each job's val loss against steps: `jobs` is (run dir, label) pairs, best first."""
    ax = _axes(ax)
    for run_dir, label in jobs:
        if (Path(run_dir) / "tb").is_dir():
            ax.plot(*_points(scalars(run_dir), VAL_LOSS), marker=".", label=label)
    return _finish(ax, title)


def _finish(ax: Any, title: str) -> Any:
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax
