"""What a model declares beside its code: one `ModelSpec`, found by the registry.

A model module (models/<name>.py) declares its options (a ModelOptions dataclass: each
key's type, default and meaning, the one place they are written) and a ModelSpec at module
level; conf/model/<name>.yaml chooses it. models/__init__.py finds every spec in the
package's modules. The spec says everything the rest of the harness asks of a model: its
options, how to build it, the rules of its options' values (checked before any data loads),
whether it trains on whole words, the HParams columns its options add, and whether the fast
path (fast=true) can run it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from wavenet_harness.base.errors import ConfigError
from wavenet_harness.base.run_config import ModelOptions


def no_rules(block_size: int, n_embd: int, n_hidden: int, depth: int, **options: Any) -> None:
    """A model whose options take any value their type allows."""


def check_dropout(dropout: float) -> None:
    """model.dropout: a fraction of outputs, at least 0 and below 1."""
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"model.dropout={dropout} is not allowed: it must be at least 0 and below 1")


@dataclass(frozen=True)
class ModelSpec:
    """One model as the config names it (`model=<name>`)."""

    # The model group's keys: `options.name` is the model's config name.
    options: type[ModelOptions]
    # (vocab_size, block_size, n_embd, n_hidden, depth, **options.values()) -> the model.
    build: Callable[..., nn.Module]
    # (block_size, n_embd, n_hidden, depth, **options): raise ConfigError for a value that cannot work.
    check: Callable[..., None] = no_rules
    # Trains on whole words, every position a prediction (WordBatches): True, False, or a
    # rule on the model group's options (conv: all_positions).
    reads_words: bool | Callable[[Any], bool] = False
    # Its options that other models lack, with the value that means "off" (n_head: 0, no
    # heads): one HParams column each, shown for every job.
    hparam_columns: dict[str, Any] = field(default_factory=dict)
    # Batchnorm over the rows of a batch of windows needs at least two of them.
    min_batch_size: int = 1
    # fast=true / compile=true can run it (models/fused.py).
    fast_path: bool = False

    @property
    def name(self) -> str:
        return self.options.name

    def trains_on_words(self, options: ModelOptions) -> bool:
        return self.reads_words(options) if callable(self.reads_words) else bool(self.reads_words)
