"""`wavenet-sample RUN`: words sampled from a trained run, those not in its training split marked new.

    wavenet-sample runs/2026-11-28/10-00-00            # 10 names from that run's checkpoint
    wavenet-sample RUN -n 20 --temperature 0.8 --top-k 5 --prefix ka --seed 1 --json

The run is loaded by training/trained.py and sampled by models/sampling.py; this module
only reads the command line and prints.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import torch

from wavenet_harness.base.data import split_words
from wavenet_harness.base.errors import UsageError
from wavenet_harness.base.files import json_text
from wavenet_harness.cli import OneLineArgumentParser, one_line_errors
from wavenet_harness.models.sampling import DEFAULT_MAX_LEN, generate
from wavenet_harness.tracking.trained import load_trained_run

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


MAX_NUM = 100_000  # words per call; more is a file's worth, not a look at the model
LARGEST_SEED = 2**63 - 1


def _check_options(args: argparse.Namespace) -> None:
    if not 1 <= args.num <= MAX_NUM:
        raise UsageError(f"--num {args.num} is not allowed: give a whole number from 1 to {MAX_NUM:,}")
    if not 0 <= args.seed <= LARGEST_SEED:
        raise UsageError(f"--seed {args.seed} is not allowed: give a whole number from 0 to 2**63 - 1")
    if not (math.isfinite(args.temperature) and args.temperature > 0):
        raise UsageError(f"--temperature {args.temperature} is not allowed: give a positive finite number")
    if args.top_k is not None and args.top_k < 1:
        raise UsageError(f"--top-k {args.top_k} is not allowed: give a whole number >= 1")
    if not 1 <= args.max_len <= 640_000:
        raise UsageError(f"--max-len {args.max_len} is not allowed: give a positive whole number up to 640,000")
    if len(args.prefix) >= args.max_len:  # nothing would be sampled: the prefix alone is not a sample
        raise UsageError(f"--prefix is {len(args.prefix)} characters, not shorter than --max-len {args.max_len}: "
                         "give a longer --max-len or a shorter --prefix")
    if args.top_k is not None and args.top_k > LARGEST_SEED:
        raise UsageError(f"--top-k {args.top_k} is not allowed: give a whole number below 2**63")


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
    checkpoint, config, vocab = run.checkpoint, run.config, run.vocab
    unknown = "".join(sorted(set(args.prefix) - set(vocab.chars)))  # includes the end token '.'
    if unknown:
        raise UsageError(f"--prefix {args.prefix!r} has characters the model does not know: {unknown!r}")
    train_words = set(split_words(run.words(args.data), config.data.split_seed)[0])
    model = run.model()
    generator = torch.Generator().manual_seed(args.seed)
    try:
        words = generate(model, vocab, args.num, args.temperature, args.top_k, generator, args.prefix, args.max_len,
                         block_size=config.block_size)
    except ValueError as err:
        raise UsageError(f"cannot sample from {checkpoint}: {err}") from None
    samples: list[dict[str, Any]] = [{"word": w, "new": w not in train_words} for w in words]
    return {
        "checkpoint": str(checkpoint),
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
