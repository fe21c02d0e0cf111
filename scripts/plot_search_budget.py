"""Best val loss reached against CPU-minutes spent, for whole ways of finding a recipe.

    python scripts/plot_search_budget.py \
        --search "search then lengthen=runs/sweeps/transformer_optuna" \
        --then "search then lengthen=runs/multirun/<date>/<time>/0" \
        --anytime-search "full length, Hyperband=runs/sweeps/transformer_long" \
        --reference target=1.915 --out docs/img/search_budget.png

Each way is a LABEL. Its cost is the run time of every trial of its searches (pruned ones
too; CPU-minutes, as each trial runs on one thread) and then of each --then run (a
lengthened recipe trained after the search), in that order; trials count in the order
they finished. Its val is the best recipe found so far:
  - --search: a trial's final val loss (a finished trial; with a cosine schedule an
    earlier evaluation is not what a shorter run would end at);
  - --anytime-search: a trial's best val loss at any evaluation, pruned trials too (for
    the _long searches: a constant lr and averaged weights make that step a recipe);
  - --then: the run's final val loss;
  - --spent LABEL=MINUTES:VAL_LOSS: a result known only as numbers (a search or run whose
    files are gone, e.g. docs/tuning.md's 66.3 CPU-minutes to 1.9636), in order with --then.
It prints each way's points and writes one step plot. Run time is metrics.json's seconds,
so it depends on the load the searches ran under: compare ways run alike. Needs
matplotlib for the image (pip install -e ".[plots]").

From a checkout only: scripts/ is not part of the installed package (not in the wheel);
run it from the repository's root with the package installed (pip install -e .).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from wavenet_harness.base.errors import UsageError
from wavenet_harness.base.extras import has_extra, install_command
from wavenet_harness.base.records import JOURNAL_NAME, read_metrics
from wavenet_harness.cli import OneLineArgumentParser, one_line_errors
from wavenet_harness.tracking.figures import draw, image_path, labelled_path, reference_line


@dataclass
class Spend:
    """One trial or run: what it cost and the best recipe val it gave (None: none)."""

    minutes: float
    val_loss: float | None
    what: str


def _spent(text: str) -> tuple[str, Spend]:
    label, sep, numbers = text.rpartition("=")
    minutes, colon, val = numbers.partition(":")
    try:
        if not (sep and label and colon):
            raise ValueError
        spend = Spend(float(minutes), float(val), f"{minutes} CPU-minutes recorded")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LABEL=CPU_MINUTES:VAL_LOSS, got {text!r}") from None
    return label, spend


def _run_seconds(trial, sweep_dir: Path) -> float:
    run_dir = Path(str(trial.user_attrs.get("run_dir", "")))
    if not run_dir.is_absolute() and not run_dir.is_dir():
        run_dir = sweep_dir / str(trial.number)  # recorded relative to where the search ran
    return float(read_metrics(run_dir).get("seconds") or 0.0)


def search_spends(sweep_dir: Path, anytime: bool) -> list[Spend]:
    """Every finished or pruned trial of the sweep folder's study, in the order they ended."""
    import optuna
    from optuna.trial import TrialState

    from wavenet_harness.sweeps.study import open_storage

    journal = sweep_dir / JOURNAL_NAME
    if not journal.is_file():
        raise UsageError(f"{journal} does not exist; give the sweep folder of an Optuna search")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(str(journal))
    studies = optuna.get_all_study_summaries(storage)
    if len(studies) != 1:
        raise UsageError(f"{journal} holds {len(studies)} studies; this script reads a folder with one")
    study = optuna.load_study(study_name=studies[0].study_name, storage=storage)
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    ended = [(done, t) for t in trials if (done := t.datetime_complete) is not None]
    spends = []
    for _, t in sorted(ended, key=lambda pair: pair[0]):
        if anytime:
            val = min(t.intermediate_values.values(), default=None)
        else:
            val = t.value if t.state == TrialState.COMPLETE else None
        spends.append(Spend(_run_seconds(t, sweep_dir) / 60, val, f"trial {t.number} ({t.state.name.lower()})"))
    return spends


def run_spend(run_dir: Path) -> Spend:
    metrics = read_metrics(run_dir)
    if metrics.get("status") != "ok" or metrics.get("val_loss") is None:
        raise UsageError(f"{run_dir} is not a finished run (its metrics.json says status {metrics.get('status')!r})")
    return Spend(float(metrics["seconds"]) / 60, float(metrics["val_loss"]), f"run {run_dir}")


def best_so_far(spends: list[Spend]) -> list[tuple[float, float, str]]:
    """(cumulative minutes, best val so far, what gave it) after each spend that has a best."""
    points, total, best, source = [], 0.0, None, ""
    for spend in spends:
        total += spend.minutes
        if spend.val_loss is not None and (best is None or spend.val_loss < best):
            best, source = spend.val_loss, spend.what
        if best is not None:
            points.append((total, best, source))
    return points


def plot(ways: dict[str, list[tuple[float, float, str]]], out: Path, references: list[tuple[str, float]]) -> None:
    def fill(ax) -> None:
        for colour, (label, points) in enumerate(ways.items()):
            ax.step(
                [m for m, _, _ in points],
                [v for _, v, _ in points],
                where="post",
                color=f"C{colour}",
                marker=".",
                label=label,
            )
        ax.set_xlabel("CPU-minutes spent (trials and runs, one thread each)")
        ax.set_ylabel("best val loss so far (whole val split)")
        ax.set_title("best recipe found against the CPU-minutes it took")

    draw(out, fill, references)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineArgumentParser(prog="plot_search_budget", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--search",
        action="append",
        type=labelled_path(),
        default=[],
        metavar="LABEL=SWEEP_DIR",
        help="a search whose trials count by their final val loss",
    )
    parser.add_argument(
        "--anytime-search",
        action="append",
        type=labelled_path(),
        default=[],
        metavar="LABEL=SWEEP_DIR",
        help="a search whose trials count by their best val at any evaluation (the _long searches)",
    )
    parser.add_argument(
        "--then",
        action="append",
        type=labelled_path(),
        dest="after",
        default=[],
        metavar="LABEL=RUN_DIR",
        help="a run made after LABEL's searches (a lengthened recipe), in order",
    )
    parser.add_argument(
        "--spent",
        action="append",
        type=_spent,
        dest="after",
        metavar="LABEL=CPU_MINUTES:VAL_LOSS",
        help="a result known as numbers: these CPU-minutes more gave this val, in order with --then",
    )
    parser.add_argument(
        "--reference",
        action="append",
        type=reference_line,
        default=[],
        metavar="[LABEL=]VAL_LOSS",
        help="a horizontal line at this val loss (e.g. target=1.915)",
    )
    parser.add_argument("--out", type=Path, default=None, help="the image to write (.png, .svg or .pdf)")
    with one_line_errors(parser.prog):
        args = parser.parse_args(argv)
        if not args.search and not args.anytime_search and not args.after:
            raise UsageError("give at least one --search, --anytime-search, --then or --spent")
        if args.out is not None:
            args.out = image_path(args.out)
            if not has_extra("plots"):
                raise UsageError(f"plotting needs matplotlib: {install_command('plots')}")
        spends: dict[str, list[Spend]] = {}
        for anytime, searches in ((False, args.search), (True, args.anytime_search)):
            for label, sweep_dir in searches:
                spends.setdefault(label, []).extend(search_spends(sweep_dir, anytime))
        for label, after in args.after:
            spend = after if isinstance(after, Spend) else run_spend(after)
            spends.setdefault(label, []).append(spend)
        ways = {label: best_so_far(items) for label, items in spends.items()}
    for label, points in ways.items():
        total = sum(s.minutes for s in spends[label])
        if points:
            print(f"{label}: best val {points[-1][1]:.4f} ({points[-1][2]}) after {total:.1f} CPU-minutes")
        else:
            print(f"{label}: no recipe yet after {total:.1f} CPU-minutes")
        for minutes, val, what in points:
            print(f"  {minutes:8.1f}  {val:.4f}  {what}")
    if args.out is not None:
        plot({k: v for k, v in ways.items() if v}, args.out, args.reference)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
