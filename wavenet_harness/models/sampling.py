"""Sampling names from a trained model, and the `wavenet-sample` console script.

`generate` draws one word at a time from the model in eval mode (batchnorm's running
statistics, no updates), feeding each sampled character back as context until the end
token '.' or a maximum length. It only ever draws from the torch.Generator it is given,
never from the global one, so sampling during training leaves the training numbers
exactly as they would be without it.

    wavenet-sample runs/2026-11-28/10-00-00            # 10 names from that run's checkpoint
    wavenet-sample RUN -n 20 --temperature 0.8 --top-k 5 --prefix ka --seed 1 --json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from wavenet_harness.tracking.console import OneLineArgumentParser, UsageError
from wavenet_harness.data import Vocabulary, split_words
from wavenet_harness.training.trained import load_trained_run

DEFAULT_MAX_LEN = 64


@torch.no_grad()
def generate(
    model: nn.Module,
    vocab: Vocabulary,
    n: int = 10,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
    prefix: str = "",
    max_len: int = DEFAULT_MAX_LEN,
    block_size: int | None = None,
) -> list[str]:
    """Sample `n` words (each starting with `prefix`) of at most `max_len` characters.

    Words are drawn one after another, so the first k words do not depend on `n`.
    `generator=None` uses a fresh generator seeded 0 (never the global one).
    """
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k!r}")
    unknown = sorted(set(prefix) - set(vocab.chars))
    if unknown:
        raise ValueError(f"prefix {prefix!r} has characters the model does not know: {''.join(unknown)!r}")
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    block_size = block_size or model.block_size
    device = next(model.parameters()).device
    stoi, itos = vocab.stoi, vocab.itos

    was_training = model.training
    model.eval()
    try:
        words = []
        for _ in range(n):
            context = [0] * block_size
            for ch in prefix:
                context = context[1:] + [stoi[ch]]
            chars = list(prefix)
            while len(chars) < max_len:
                logits = model(torch.tensor([context], device=device))[0].float().cpu() / temperature
                if top_k is not None and top_k < logits.numel():
                    kth_best = torch.topk(logits, top_k).values[-1]
                    logits = logits.masked_fill(logits < kth_best, -math.inf)
                # Sampled on the CPU so that a CPU generator serves a model on any device.
                ix = torch.multinomial(F.softmax(logits, dim=-1), num_samples=1, generator=generator).item()
                if ix == 0:  # the end token
                    break
                chars.append(itos[ix])
                context = context[1:] + [ix]
            words.append("".join(chars))
        return words
    finally:
        model.train(was_training)


def samples_markdown(words: list[str], known: set[str]) -> str:
    """A markdown list for TensorBoard's text tab; words not in `known` are marked new."""
    return "\n".join(f"- {word}" + (" *(new)*" if word not in known else "") for word in words)


def tensorboard_sampler(
    model: nn.Module, vocab: Vocabulary, train_words: list[str], n: int, seed: int
) -> Callable[[int], str] | None:
    """step -> markdown of `n` names for the `samples` text tag; None when n is 0.

    Each evaluation gets its own generator seeded from (seed, step), so the samples at a
    step are the same whether or not the run was resumed on the way.
    """
    if not n:
        return None
    known = set(train_words)

    def sample_at(step: int) -> str:
        generator = torch.Generator().manual_seed(seed * 1_000_003 + step)
        return samples_markdown(generate(model, vocab, n, generator=generator), known)

    return sample_at


# ---------------------------------------------------------------- the console script


def _parser() -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(
        prog="wavenet-sample",
        description="Sample words from a trained wavenet-train run and mark those not in its training split.",
    )
    parser.add_argument("path", metavar="RUN_DIR_OR_CHECKPOINT", help="a run directory or its checkpoint.pt")
    parser.add_argument("-n", "--num", type=int, default=10, help="how many words (default 10)")
    parser.add_argument("--temperature", type=float, default=1.0, help="softmax temperature, > 0 (default 1.0)")
    parser.add_argument("--top-k", type=int, default=None, help="sample only from the k likeliest characters")
    parser.add_argument("--seed", type=int, default=42, help="seed of the sampling generator (default 42)")
    parser.add_argument("--prefix", default="", help="start every word with these characters")
    parser.add_argument("--max-len", type=int, default=DEFAULT_MAX_LEN, help=f"longest word (default {DEFAULT_MAX_LEN})")
    parser.add_argument("--data", default=None, help="the training words file, if not where the run's data.path says")
    parser.add_argument("--json", action="store_true", help="print JSON for programs instead of text")
    return parser


def _check_options(args: argparse.Namespace) -> None:
    if args.num < 1:
        raise UsageError(f"--num {args.num} is not allowed: give a positive whole number")
    if not (math.isfinite(args.temperature) and args.temperature > 0):
        raise UsageError(f"--temperature {args.temperature} is not allowed: give a positive finite number")
    if args.top_k is not None and args.top_k < 1:
        raise UsageError(f"--top-k {args.top_k} is not allowed: give a whole number >= 1")
    if args.max_len < 1:
        raise UsageError(f"--max-len {args.max_len} is not allowed: give a positive whole number")


def main(argv: list[str] | None = None) -> None:
    try:
        args = _parser().parse_args(argv)
        _check_options(args)
        result = _sample(args)
    except UsageError as err:
        print(f"wavenet-sample: error: {err}", file=sys.stderr)
        sys.exit(2)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    width = max(len(s["word"]) for s in result["samples"])
    for s in result["samples"]:
        print(f"{s['word']:<{width}}  new" if s["new"] else s["word"])
    new = sum(s["new"] for s in result["samples"])
    print(f"{new} of {len(result['samples'])} new ({result['fraction_new']:.0%}): not in the training split")


def _sample(args: argparse.Namespace) -> dict:
    run = load_trained_run(args.path)
    checkpoint, cfg, vocab = run.checkpoint, run.config, run.vocab
    unknown = "".join(sorted(set(args.prefix) - set(vocab.chars)))  # includes the end token '.'
    if unknown:
        raise UsageError(f"--prefix {args.prefix!r} has characters the model does not know: {unknown!r}")
    train_words = set(split_words(run.words(args.data), cfg["data"]["split_seed"])[0])
    model = run.model()
    generator = torch.Generator().manual_seed(args.seed)
    words = generate(model, vocab, args.num, args.temperature, args.top_k, generator, args.prefix, args.max_len,
                     block_size=cfg["block_size"])
    samples = [{"word": w, "new": w not in train_words} for w in words]
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
