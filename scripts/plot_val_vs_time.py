"""Val loss against training time for finished runs, as one PNG (the README's leaderboard plot).

    python scripts/plot_val_vs_time.py \
        --run tuned_transformer=runs/multirun/<date>/<time>/0 \
        --run tuned_transformer=runs/multirun/<date>/<time>/1 \
        --run lecture=runs/<date>/<time>-<id> \
        --out docs/img/val_vs_time.png

Each --run is LABEL=RUN_DIR; runs that share a label (the seeds of one recipe) share a
colour, one line each. Time is wall-clock minutes since the run's first logged event, read
from its TensorBoard events (wavenet_harness/tracking/curves.py), so evaluations count;
plot runs that shared the machine alike, or say that they did not. Horizontal lines mark
results given as numbers (--reference LABEL=VAL_LOSS; by default the lecture's val 1.993).
Needs matplotlib: pip install -e ".[plots]".

From a checkout only: scripts/ is not part of the installed package (not in the wheel);
run it from the repository's root with the package installed (pip install -e .).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from wavenet_harness.base.errors import RunDirError, UsageError
from wavenet_harness.base.extras import has_extra, install_command
from wavenet_harness.cli import OneLineArgumentParser, one_line_errors
from wavenet_harness.tracking.curves import val_curve
from wavenet_harness.tracking.figures import draw, image_path, labelled_path, reference_line


def plot(curves: dict[str, list[list]], out: Path, references: list[tuple[str, float]], title: str) -> None:
    lowest = min(p.val_loss for runs in curves.values() for run in runs for p in run)
    highest_reference = max((value for _, value in references), default=lowest)

    def fill(ax) -> None:
        for colour, (label, runs) in enumerate(curves.items()):
            for i, run in enumerate(runs):
                ax.plot(
                    [p.minutes for p in run],
                    [p.val_loss for p in run],
                    color=f"C{colour}",
                    marker=".",
                    linewidth=1.2,
                    alpha=0.85,
                    label=label if i == 0 else None,
                )
        ax.set_ylim(min(lowest, *(v for _, v in references)) - 0.01, max(lowest + 0.25, highest_reference + 0.08))
        ax.set_xlabel("minutes of training (evaluations included)")
        ax.set_ylabel("val loss (whole val split)")
        ax.set_title(title)

    draw(out, fill, references)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineArgumentParser(prog="plot_val_vs_time", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--run",
        action="append",
        type=labelled_path("RUN_DIR"),
        required=True,
        metavar="LABEL=RUN_DIR",
        help="a run to plot; repeat it, one per run (seeds share a label)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("docs/img/val_vs_time.png"),
        help="the image to write (.png, .svg or .pdf; no suffix: .png)",
    )
    parser.add_argument(
        "--reference",
        action="append",
        type=reference_line,
        metavar="[LABEL=]VAL_LOSS",
        help="a horizontal line at this val loss, e.g. for a result without its runs; "
        "repeat it for more (default: lecture=1.993)",
    )
    parser.add_argument("--title", default="val loss against training time")
    with one_line_errors(parser.prog):
        args = parser.parse_args(argv)
        args.out = image_path(args.out, default_suffix=".png")  # --out runs: writes runs.png, says so
        if not has_extra("plots"):
            raise UsageError(f"plotting needs matplotlib: {install_command('plots')}")
        curves: dict[str, list[list]] = defaultdict(list)
        for label, run_dir in args.run:
            try:
                curves[label].append(val_curve(run_dir))
            except RunDirError as err:
                raise UsageError(str(err)) from None
    plot(curves, args.out, args.reference or [("lecture", 1.993)], args.title)
    for label, runs in curves.items():
        finals = ", ".join(f"{run[-1].val_loss:.4f} at {run[-1].minutes:.1f} min" for run in runs)
        print(f"{label}: {finals}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
