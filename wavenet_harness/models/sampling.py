"""Sampling names from a trained model: `generate`, for inference only.

`generate` draws one word at a time from the model in eval mode (batchnorm's running
statistics, no updates), feeding each sampled character back as context until the end
token '.' or a maximum length. It only ever draws from the torch.Generator it is given,
never from the global one, so sampling during training leaves the training numbers
exactly as they would be without it.

It knows nothing of configs, run directories or the command line (cli/sample.py).
"""

from __future__ import annotations

import math
import typing

import torch
import torch.nn.functional as F
from torch import nn

from wavenet_harness.base import interrupts
from wavenet_harness.base.data import Vocabulary

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
    block_size = block_size or typing.cast(int, model.block_size)  # every model keeps its block_size, an int
    device = next(model.parameters()).device

    was_training = model.training
    model.eval()
    try:
        return [
            _one_word(model, vocab, block_size, prefix, max_len, temperature, top_k, generator, device)
            for _ in range(n)
        ]
    finally:
        model.train(was_training)


def _one_word(
    model: nn.Module,
    vocab: Vocabulary,
    block_size: int,
    prefix: str,
    max_len: int,
    temperature: float,
    top_k: int | None,
    generator: torch.Generator,
    device: torch.device,
) -> str:
    """One word: `prefix`, then characters drawn until the end token or max_len."""
    context = [0] * block_size
    for ch in prefix:
        context = context[1:] + [vocab.stoi[ch]]
    chars = list(prefix)
    while len(chars) < max_len:
        interrupts.check()  # during training, a stop signal ends long sampling here
        logits, _ = model(torch.tensor([context], device=device))
        ix = _draw(logits[0].float().cpu(), temperature, top_k, generator)
        if ix == 0:  # the end token
            break
        chars.append(vocab.itos[ix])
        context = context[1:] + [ix]
    return "".join(chars)


def _draw(logits: torch.Tensor, temperature: float, top_k: int | None, generator: torch.Generator) -> int:
    """The next character's index, drawn from the logits at this temperature and top_k."""
    if not torch.isfinite(logits).all():
        raise ValueError("the model's outputs are not finite numbers (did its run diverge?)")
    if temperature < torch.finfo(torch.float32).tiny:  # not a float32: divide in float64
        logits = logits.double()
    # Shifted so the best logit is 0 before dividing: a tiny temperature then
    # gives 0 and -inf (greedy), never inf - inf.
    logits = (logits - logits.max()) / temperature
    if top_k is not None and top_k < logits.numel():
        kth_best = torch.topk(logits, top_k).values[-1]
        logits = logits.masked_fill(logits < kth_best, -math.inf)
    # Sampled on the CPU so that a CPU generator serves a model on any device.
    return int(torch.multinomial(F.softmax(logits, dim=-1), num_samples=1, generator=generator).item())
