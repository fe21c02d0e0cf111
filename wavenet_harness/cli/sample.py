"""`wavenet-sample RUN`: words sampled from a trained run, those not in its training split marked new.

    wavenet-sample runs/2026-11-28/10-00-00            # 10 names from that run's checkpoint
    wavenet-sample RUN -n 20 --temperature 0.8 --top-k 5 --prefix ka --seed 1 --json

The run is loaded by training/trained.py and sampled by models/sampling.py; this module
only reads the command line and prints.
"""

from __future__ import annotations

import argparse
from typing import Any

from wavenet_harness.base.data import split_words
from wavenet_harness.base.files import json_text
from wavenet_harness.cli import OneLineArgumentParser, one_line_errors
from wavenet_harness.models.sampling import DEFAULT_MAX_LEN
from wavenet_harness.tracking.trained import check_prefix, check_sampling, load_trained_run, sample_words

PROG = "wavenet-sample"


def _parser() -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(
        prog=PROG,
        description="Sample words from a trained wavenet-train run and mark those not in its training split.",
    )
    parser.add_argument("path", metavar="RUN_DIR_OR_CHECKPOINT", help="a run directory or its checkpoint.pt")
    parser.add_argument("-n", "--num", type=int, default=10, help="how many words (default 10)")
    parser.add_argument("--temperature", type=float, default=1.0, help="softmax temperature, > 0 (default 1.0)")
    parser.add_argument("--top-k", type=int, default=None, help="sample only from the k likeliest characters")
    parser.add_argument("--seed", type=int, default=42, help="seed of the sampling generator (default 42)")
    parser.add_argument("--prefix", default="", help="start every word with these characters")
    parser.add_argument(
        "--max-len", type=int, default=DEFAULT_MAX_LEN, help=f"longest word (default {DEFAULT_MAX_LEN})"
    )
    parser.add_argument("--data", default=None, help="the training words file, if not where the run's data.path says")
    parser.add_argument("--json", action="store_true", help="print JSON for programs instead of text")
    return parser


def _flag(name: str, *value: Any) -> str:
    """An option as typed on the command line: --max-len, and with its value --top-k 0, --prefix 'x1'."""
    flag = "--" + name.replace("_", "-")
    if not value:
        return flag
    return f"{flag} {value[0]!r}" if name == "prefix" else f"{flag} {value[0]}"


def _check_options(args: argparse.Namespace) -> None:
    check_sampling(args.num, args.temperature, args.top_k, args.seed, args.max_len, args.prefix, _flag)


def main(argv: list[str] | None = None) -> None:
    with one_line_errors(PROG):
        args = _parser().parse_args(argv)
        _check_options(args)
        result = _sample(args)
    if args.json:
        print(json_text(result, indent=2))
        return
    width = max(len(s["word"]) for s in result["samples"])
    for s in result["samples"]:
        print(f"{s['word']:<{width}}  new" if s["new"] else s["word"])
    new = sum(s["new"] for s in result["samples"])
    print(f"{new} of {len(result['samples'])} new ({result['fraction_new']:.0%}): not in the training split")


def _sample(args: argparse.Namespace) -> dict:
    run = load_trained_run(args.path)
    check_prefix(run, args.prefix, _flag)
    train_words = set(split_words(run.words(args.data), run.config.data.split_seed)[0])
    words = sample_words(run, args.num, args.temperature, args.top_k, args.seed, args.prefix, args.max_len, _flag)
    samples: list[dict[str, Any]] = [{"word": w, "new": w not in train_words} for w in words]
    return {
        "checkpoint": str(run.checkpoint),
        "step": run.step,
        "temperature": args.temperature,
        "top_k": args.top_k,
        "seed": args.seed,
        "prefix": args.prefix,
        "samples": samples,
        "fraction_new": sum(s["new"] for s in samples) / len(samples),
    }


if __name__ == "__main__":
    main()
