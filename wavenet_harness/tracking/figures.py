"""What the plot scripts share: their LABEL=... arguments, the image --out they may write, and writing it.

scripts/plot_val_vs_time.py (the leaderboard's plot) and scripts/plot_search_budget.py (best
val against CPU-minutes) both take labelled paths and reference lines, refuse an --out that is
not an image or lies among a run's files, and write the image atomically. matplotlib (the
[plots] extra) is imported only when a figure is drawn.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wavenet_harness.base.errors import RunDirError
from wavenet_harness.base.files import write_atomic
from wavenet_harness.tracking.rundir import check_output_path

IMAGE_SUFFIXES = (".png", ".svg", ".pdf")
REFERENCE_STYLES = ("--", ":", "-.")


def labelled_path(what: str = "PATH") -> Callable[[str], tuple[str, Path]]:
    """argparse type of LABEL=<what> (the path may hold '=', the label may not)."""

    def parse(text: str) -> tuple[str, Path]:
        label, sep, path = text.partition("=")
        if not sep or not label or not path:
            raise argparse.ArgumentTypeError(f"expected LABEL={what}, got {text!r}")
        return label, Path(path)

    return parse


def reference_line(text: str) -> tuple[str, float]:
    """argparse type of [LABEL=]VAL_LOSS: a horizontal line on the plot."""
    label, sep, value = text.rpartition("=")
    try:
        return (label if sep else f"val {value}"), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected [LABEL=]VAL_LOSS, got {text!r}") from None


def image_path(out: Path, default_suffix: str | None = None) -> Path:
    """The file --out names. Without a suffix it gets `default_suffix` (when given); another
    suffix, a path among a run's files or over another kind of file is refused in one line."""
    if not out.suffix and default_suffix:
        out = out.with_name(out.name + default_suffix)
    if out.suffix.lower() not in IMAGE_SUFFIXES:
        raise RunDirError(f"--out {out}: give a {', '.join(IMAGE_SUFFIXES)} file name")
    check_output_path(out, IMAGE_SUFFIXES, "--out")
    return out


def draw(out: Path, fill: Callable[[Any], None], references: list[tuple[str, float]]) -> None:
    """One 8x5 figure: `fill(ax)` draws the data, then the reference lines, grid and legend;
    written to `out` through a temporary file, so an interrupted plot never leaves half an image."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    fill(ax)
    for i, (label, value) in enumerate(references):
        ax.axhline(
            value,
            color="grey",
            linestyle=REFERENCE_STYLES[i % len(REFERENCE_STYLES)],
            linewidth=1,
            label=f"{label} ({value})",
        )
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, lambda f: fig.savefig(f, format=out.suffix[1:]), binary=True)
    plt.close(fig)
