"""`wavenet-eval RUN_DIR --split test`: the loss of a trained run on one split of its data.

Training reports train and val loss; the test split is never read by wavenet-train, so
that a search selecting on val cannot leak into it. This command reads it, once, for a
final recipe: it rebuilds the run's split (data.path, data.split_seed, block_size) from
the checkpoint's config and evaluates the saved model in eval mode.

    wavenet-eval runs/2026-11-28/10-00-00 --split test
    wavenet-eval runs/multirun/2026-11-28/12-00-00/0 runs/multirun/2026-11-28/12-00-00/1 --split test --json

--json prints {"runs": [one object per run], "split", "mean", "min", "max"}.

The run is loaded by training/trained.py; this module only reads the command line and prints.
"""

from __future__ import annotations

import argparse

from wavenet_harness.base.files import json_text
from wavenet_harness.cli import OneLineArgumentParser, one_line_errors
from wavenet_harness.tracking.trained import SPLITS, load_trained_run, split_loss

PROG = "wavenet-eval"


def _parser() -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(
        prog=PROG,
        description="Evaluate trained wavenet-train runs on one split of their data "
        "(mean cross-entropy per character).",
    )
    parser.add_argument(
        "paths", nargs="+", metavar="RUN_DIR_OR_CHECKPOINT", help="run directories or checkpoint.pt files"
    )
    parser.add_argument("--split", choices=SPLITS, default="val", help="which split (default val)")
    parser.add_argument("--data", default=None, help="the words file, if not where the run's data.path says")
    parser.add_argument("--json", action="store_true", help="print JSON for programs instead of text")
    return parser


def evaluate_run(path: str, split: str, data_option: str | None = None) -> dict:
    return {"path": str(path), **split_loss(load_trained_run(path), split, data_option)}


def main(argv: list[str] | None = None) -> None:
    with one_line_errors(PROG):
        args = _parser().parse_args(argv)
        results = [evaluate_run(path, args.split, args.data) for path in args.paths]
    summary = summarise(results)
    if args.json:
        print(json_text({"runs": results, **summary}, indent=2))
        return
    for r in results:
        print(
            f"{r['path']}  {r['split']} loss {r['loss']:.4f}  ({r['predictions']} predictions, step {r['step']}"
            f"{', ema weights' if r['weights'] == 'ema' else ''})"
        )
    if len(results) > 1 and summary["mean"] is None:
        print(f"no mean: {summary['no_mean']}")
    elif len(results) > 1:
        print(
            f"mean {summary['mean']:.4f} over {len(results)} runs (min {summary['min']:.4f}, max {summary['max']:.4f})"
        )


def summarise(results: list[dict]) -> dict:
    """The mean, min and max loss over the runs (for one run: its loss). Runs trained on
    different words files or split seeds were scored on different splits: no mean then."""
    if len({(r["data"]["words_sha256"], r["data"]["split_seed"]) for r in results}) > 1:
        return {
            "split": results[0]["split"],
            "mean": None,
            "min": None,
            "max": None,
            "no_mean": "the runs were scored on different data (their words files or data.split_seed differ); "
            "compare them one by one",
        }
    losses = [r["loss"] for r in results]
    return {"split": results[0]["split"], "mean": sum(losses) / len(losses), "min": min(losses), "max": max(losses)}


if __name__ == "__main__":
    main()
