"""The model registry: every ModelSpec in the package's modules, by its config name.

  mlp, hier   models/tree.py (the lecture's layers, models/layers.py)
  conv        models/conv.py (the hier tree as a dilated convolution)
  wavenet     models/wavenet.py (the WaveNet paper's gated residual stack)
  gru         models/gru.py (the recurrent baseline)
  transformer models/transformer.py (a small decoder-only transformer)
  fast path   models/fused.py (fast=true / compile=true / amp)

Every model has one interface: `model(idx, targets=None) -> (logits, loss)`; on
(B, block_size) windows the logits are the next character's after each window. A model
declares what the rest of the harness needs beside its code, in a ModelSpec (models/
spec.py): its typed options, builder, option rules, whether it trains on whole words,
HParams columns, the fast path. Adding a model is its module (with its options and spec)
and its conf/model/<name>.yaml; nothing here changes. The functions here take the typed
run config (base/run_config.py) or explicit arguments, never the raw config. This package
knows nothing of training, tracking or files.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import torch
from torch import nn

from wavenet_harness.base.data import Dataset, WindowBatches, WordBatches
from wavenet_harness.base.errors import ConfigError
from wavenet_harness.base.run_config import ModelOptions, RunConfig
from wavenet_harness.models.spec import ModelSpec
from wavenet_harness.models.speed import check_speed_options, speed_up_model


def _find_specs() -> dict[str, ModelSpec]:
    """Every ModelSpec defined at module level in this package, by name."""
    specs: dict[str, ModelSpec] = {}
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, ModelSpec) and specs.setdefault(value.name, value) is not value:
                raise RuntimeError(f"two models are named {value.name!r}: {module.__name__} and another module")
    return dict(sorted(specs.items()))


SPECS = _find_specs()
MODELS = tuple(SPECS)
# Keys that must match for a checkpoint to continue a run.
SHAPE_KEYS = ("block_size", "n_embd", "n_hidden", "depth", "model")


def hparam_columns() -> dict[str, Any]:
    """Options only some models have, shown for every job in TensorBoard's HParams tab with
    the value that means "off" where the chosen model lacks them."""
    columns: dict[str, Any] = {}
    for spec in SPECS.values():
        for key, off in spec.hparam_columns.items():
            if columns.setdefault(key, off) != off:
                raise RuntimeError(f"model.{key} means off as {columns[key]!r} in one model and {off!r} in another")
    return columns


def trains_on_words(options: ModelOptions) -> bool:
    """The chosen model trains on whole words (every position a prediction), not windows."""
    return SPECS[options.name].trains_on_words(options)


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def model_options(name: str, **options: Any) -> ModelOptions:
    """Model `name`'s typed options: its declared defaults, with `options` in their place."""
    if name not in SPECS:
        raise ConfigError(f"model.name={name!r} is not known; choose one of {list(MODELS)}")
    return SPECS[name].options(**options)


def build_model(
    name: str, vocab_size: int, block_size: int, n_embd: int, n_hidden: int, depth: int, **options
) -> nn.Module:
    """Build a model by its config name; `options` are the model group's keys (the rest keep their defaults)."""
    return build_configured_model(model_options(name, **options), vocab_size, block_size, n_embd, n_hidden, depth)


def build_configured_model(
    options: ModelOptions, vocab_size: int, block_size: int, n_embd: int, n_hidden: int, depth: int
) -> nn.Module:
    """The model its typed options describe, at this shape."""
    return SPECS[options.name].build(vocab_size, block_size, n_embd, n_hidden, depth, **options.values())


def build_run_model(config: RunConfig, vocab_size: int) -> nn.Module:
    """A run's model; on the fast path (fast=true / compile=true) its fused version."""
    model = build_configured_model(
        config.model, vocab_size, config.block_size, config.n_embd, config.n_hidden, config.depth
    )
    return speed_up_model(model, config)


def run_batches(config: RunConfig, data: Dataset, train_xy: tuple[torch.Tensor, torch.Tensor]):
    """A run's training batches: whole words for a model that reads them (its spec), else
    the lecture's windows (`train_xy`, already on the run's device)."""
    if trains_on_words(config.model):
        device = train_xy[0].device
        return WordBatches(data.train.words, data.vocab.stoi, config.block_size, config.batch_size, device)
    return WindowBatches(*train_xy, config.batch_size)


def check_model(config: RunConfig) -> None:
    """The `model` group's values against the chosen model's rules, then the fast path's
    (fast, compile, amp) for the chosen model. Keys and types were checked while composing."""
    spec = SPECS[config.model.name]
    spec.check(config.block_size, config.n_embd, config.n_hidden, config.depth, **config.model.values())
    if config.batch_size < spec.min_batch_size:
        raise ConfigError(
            f"batch_size={config.batch_size} is not allowed: batchnorm needs at least "
            f"{spec.min_batch_size} examples per batch"
        )
    check_speed_options(config, tuple(name for name, spec in SPECS.items() if spec.fast_path))
