"""What a person sees in the terminal while and after training: a live progress bar and a one-screen summary.

The progress bar is a training listener; neither knows the command line or the run directory.
In a terminal it is rich's live bar. In a Jupyter notebook (rich's live display would need
ipywidgets) the same columns are one plain line on stderr, rewritten in place with a
carriage return, which every notebook front end (and a saved notebook) shows as one line.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from wavenet_harness.base.metrics import VAL_LOSS

console = Console(stderr=True)


class ProgressBar:
    """Listener that drives a rich progress bar: step, loss, steps/s, ETA, last val loss."""

    # Refreshing rich's state is cheap but not free; every few dozen steps is plenty.
    UPDATE_EVERY = 50
    LINE_SECONDS = 0.5  # a notebook's line is rewritten at most this often
    LINE_WIDTH = 110

    def __init__(self, max_steps: int, start_step: int = 0, enabled: bool = True, title: str = "training"):
        self.as_line = enabled and console.is_jupyter  # a notebook: one line rewritten in place
        self.last_line = 0.0
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("val {task.fields[val]}"),
            TextColumn("{task.fields[rate]} steps/s"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled or self.as_line,
            refresh_per_second=4,
        )
        self.task = self.progress.add_task(title, total=max_steps, completed=start_step, loss="-", val="-", rate="-")

    def __enter__(self) -> ProgressBar:
        self.progress.start()
        self._write_line(force=True)
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()
        self._write_line(force=True, end="\n")

    def _write_line(self, force: bool = False, end: str = "") -> None:
        """A notebook's progress: the bar's columns as plain text, over the previous line."""
        now = time.monotonic()
        if not self.as_line or (not force and now - self.last_line < self.LINE_SECONDS):
            return
        self.last_line = now
        text = io.StringIO()
        capture = Console(
            file=text, width=self.LINE_WIDTH, color_system=None, force_terminal=False, force_jupyter=False
        )
        capture.print(self.progress.make_tasks_table(self.progress.tasks), end="")
        sys.stderr.write("\r" + text.getvalue().rstrip() + end)
        sys.stderr.flush()

    def on_train_loss(self, step: int, loss: float, lr: float) -> None:
        if (step + 1) % self.UPDATE_EVERY == 0:
            speed = self.progress.tasks[0].speed
            self.progress.update(
                self.task, completed=step + 1, loss=f"{loss:.4f}", rate=f"{speed:,.0f}" if speed else "-"
            )
            self._write_line()

    def on_metrics(self, step: int, metrics: Mapping[str, float]) -> None:
        if VAL_LOSS in metrics:
            self.progress.update(self.task, completed=step, val=f"{metrics[VAL_LOSS]:.4f}")
            self._write_line(force=True)


def print_summary(metrics: dict[str, Any], run_dir: str, title: str = "wavenet-train") -> None:
    """The end-of-run screen: status, model, steps, losses, where the run is and how to look at it."""
    # Paths and errors may hold rich's markup characters ([...]): shown as typed.
    table = Table(title=f"{escape(title)}: {escape(str(metrics['status']))}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("model", f"{metrics.get('model', '?')}  ({metrics.get('params', 0):,} params)"),
        ("steps", f"{metrics.get('steps', 0):,} in {metrics.get('seconds', 0.0):.1f} s"),
        ("train loss", _fmt(metrics.get("train_loss"))),
        ("val loss", _fmt(metrics.get("val_loss"))),
        ("run dir", run_dir),
        ("tensorboard", f"tensorboard --logdir {run_dir}"),
    ]
    if metrics.get("error"):
        rows.insert(2, ("error", str(metrics["error"])))
    for name, value in rows:
        table.add_row(name, escape(value))
    console.print(table)


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}"
