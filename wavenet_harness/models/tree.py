"""The lecture's two model families, built from its layers: `model=mlp` and `model=hier`.

Every model maps a batch of contexts (B, block_size) of token ids to next-character
logits (B, vocab_size) and, given targets, its loss (layers.Sequential).

- `mlp`:  the flat MLP the lecture starts from (Bengio et al. 2003): embed, flatten the
          whole context, `depth` hidden layers of Linear + BatchNorm1d + Tanh.
- `hier`: the lecture's WaveNet-like tree: embed, then `depth` levels that each fuse
          neighbouring positions (FlattenConsecutive) and mix them (Linear + BatchNorm1d
          + Tanh), so the context is consumed bottom-up in pairs.

It knows nothing of configs, training or files; models/__init__.py maps config names
to these builders.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from wavenet_harness.base.errors import ConfigError
from wavenet_harness.base.run_config import ModelOptions, key
from wavenet_harness.models.layers import BatchNorm1d, Embedding, FlattenConsecutive, Linear, Sequential, Tanh
from wavenet_harness.models.spec import ModelSpec, check_dropout


def hier_group_sizes(block_size: int, depth: int) -> list[int]:
    """How many positions each tree level fuses: pairs everywhere above the bottom level.

    The bottom level takes block_size / 2**(depth-1) characters at once, so block_size 8
    with depth 3 gives the lecture's [2, 2, 2] and depth 1 is the flat MLP.
    """
    if depth < 1:
        raise ConfigError(f"depth={depth}: the tree needs at least one level")
    pairs = 2 ** (depth - 1)
    if block_size % pairs != 0:
        valid = ", ".join(str(pairs * k) for k in range(1, 5))
        raise ConfigError(
            f"block_size={block_size} cannot be split by a depth-{depth} tree of pairs; "
            f"use a multiple of {pairs} ({valid}, ...) or change depth"
        )
    return [block_size // pairs] + [2] * (depth - 1)


def _hidden_block(fan_in: int, n_hidden: int, batchnorm_bug: bool) -> list[nn.Module]:
    return [Linear(fan_in, n_hidden, bias=False), BatchNorm1d(n_hidden, lecture_bug=batchnorm_bug), Tanh()]


def _output_layer(n_hidden: int, vocab_size: int) -> Linear:
    return Linear(n_hidden, vocab_size)


def _finish(layers: list[nn.Module], block_size: int, vocab_size: int) -> Sequential:
    model = Sequential(layers, block_size, vocab_size)
    with torch.no_grad():
        model.output.weight.mul_(0.1)  # last layer less confident at init, as the lecture
    return model


BATCHNORM_BUG = "true: the lecture's 3-D batchnorm bug (normalise over the batch only, not the positions)"


@dataclass(frozen=True)
class MLPOptions(ModelOptions):
    """model=mlp: the whole context flattened into `depth` hidden layers."""

    name: str = "mlp"
    batchnorm_bug: bool = key(False, BATCHNORM_BUG)


@dataclass(frozen=True)
class HierOptions(ModelOptions):
    """model=hier: the lecture's WaveNet-like tree."""

    name: str = "hier"
    batchnorm_bug: bool = key(False, BATCHNORM_BUG)


def build_mlp(
    vocab_size: int, block_size: int, n_embd: int, n_hidden: int, depth: int, batchnorm_bug: bool
) -> Sequential:
    if depth < 1:
        raise ConfigError(f"depth={depth}: the MLP needs at least one hidden layer")
    layers: list[nn.Module] = [Embedding(vocab_size, n_embd), FlattenConsecutive(block_size)]
    layers += _hidden_block(n_embd * block_size, n_hidden, batchnorm_bug)
    for _ in range(depth - 1):
        layers += _hidden_block(n_hidden, n_hidden, batchnorm_bug)
    layers.append(_output_layer(n_hidden, vocab_size))
    return _finish(layers, block_size, vocab_size)


def build_hier(
    vocab_size: int, block_size: int, n_embd: int, n_hidden: int, depth: int, batchnorm_bug: bool
) -> Sequential:
    groups = hier_group_sizes(block_size, depth)
    layers: list[nn.Module] = [Embedding(vocab_size, n_embd)]
    fan_in = n_embd
    for group in groups:
        layers.append(FlattenConsecutive(group))
        layers += _hidden_block(fan_in * group, n_hidden, batchnorm_bug)
        fan_in = n_hidden
    layers.append(_output_layer(n_hidden, vocab_size))
    return _finish(layers, block_size, vocab_size)


def check_tree(block_size: int, n_embd: int, n_hidden: int, depth: int, dropout: float = 0.0, **_) -> None:
    """hier and conv: a tree of pairs that divides block_size (and conv's dropout)."""
    check_dropout(dropout)
    hier_group_sizes(block_size, depth)


# mlp fits any block_size at any depth >= 1 (a top-level rule); both read windows through
# batchnorm, so a batch needs two of them, and both run on the fast path.
MLP = ModelSpec(MLPOptions, build_mlp, hparam_columns={"batchnorm_bug": False}, min_batch_size=2, fast_path=True)
HIER = ModelSpec(
    HierOptions, build_hier, check=check_tree, hparam_columns={"batchnorm_bug": False}, min_batch_size=2, fast_path=True
)
