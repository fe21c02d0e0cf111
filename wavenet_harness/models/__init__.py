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
spec.py): builder, option rules, whether it trains on whole words, HParams columns, the
fast path. Adding a model is its module (with its spec) and its conf/model/<name>.yaml;
nothing here changes. This package knows nothing of training, tracking or files.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

import torch
from torch import nn

from wavenet_harness.base.data import Dataset, WindowBatches, WordBatches
from wavenet_harness.base.errors import ConfigError, one_of
from wavenet_harness.models.speed import check_speed_options, speed_up_model
from wavenet_harness.models.spec import ModelSpec


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
# Builder arguments that come from top-level keys, not from the model group.
SHAPE_ARGUMENTS = ("vocab_size", "block_size", "n_embd", "n_hidden", "depth")
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


def trains_on_words(model: dict[str, Any]) -> bool:
    """The model group trains on whole words (every position a prediction), not windows."""
    return SPECS[model["name"]].trains_on_words(model)


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def build_model(name: str, vocab_size: int, block_size: int, n_embd: int, n_hidden: int, depth: int, **options) -> nn.Module:
    """Build a model by its config name; options are the model group's extra keys."""
    if name not in SPECS:
        raise ConfigError(f"model.name={name!r} is not known; choose one of {list(MODELS)}")
    return SPECS[name].build(vocab_size, block_size, n_embd, n_hidden, depth, **options)


def build_model_from_config(cfg: dict[str, Any], vocab_size: int) -> nn.Module:
    """The config's model; on the fast path (fast=true / compile=true) its fused version."""
    options = {k: v for k, v in cfg["model"].items() if k != "name"}
    model = build_model(
        cfg["model"]["name"], vocab_size, cfg["block_size"], cfg["n_embd"], cfg["n_hidden"], cfg["depth"], **options
    )
    return speed_up_model(model, cfg)


def batches_from_config(cfg: dict[str, Any], data: Dataset, train_xy: tuple[torch.Tensor, torch.Tensor]):
    """The run's training batches: whole words for a model that reads them (its spec), else
    the lecture's windows (`train_xy`, already on the run's device)."""
    if trains_on_words(cfg["model"]):
        device = train_xy[0].device
        return WordBatches(data.train.words, data.vocab.stoi, cfg["block_size"], cfg["batch_size"], device)
    return WindowBatches(*train_xy, cfg["batch_size"])


def check_model_config(cfg: dict[str, Any]) -> None:
    """The `model` group: a known name, the chosen builder's options and their rules, then
    the fast path's (fast, compile, amp) for the chosen model."""
    model = cfg["model"]
    one_of("model", model.get("name"), MODELS)
    _check_options(model)
    options = {k: v for k, v in model.items() if k != "name"}
    SPECS[model["name"]].check(cfg["block_size"], cfg["n_embd"], cfg["n_hidden"], cfg["depth"], **options)
    _check_batch_size(cfg)
    check_speed_options(cfg, tuple(name for name, spec in SPECS.items() if spec.fast_path))


def _check_batch_size(cfg: dict[str, Any]) -> None:
    """A model's smallest batch (its spec): batchnorm over windows needs two rows."""
    smallest = SPECS[cfg["model"]["name"]].min_batch_size
    if cfg["batch_size"] < smallest:
        raise ConfigError(f"batch_size={cfg['batch_size']} is not allowed: batchnorm needs at least {smallest} "
                          "examples per batch")


def _check_options(model: dict[str, Any]) -> None:
    """The model group's extra keys are the chosen builder's keyword arguments."""
    parameters = inspect.signature(SPECS[model["name"]].build).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    options = [name for name in parameters if name not in SHAPE_ARGUMENTS]
    for key, value in model.items():
        if key == "name":
            continue
        if key not in options:
            raise ConfigError(
                f"model.{key} is not a key of model={model['name']}; it takes: {', '.join(options) or 'no options'}"
            )
        default = parameters[key].default
        if isinstance(default, bool) and not isinstance(value, bool):
            raise ConfigError(f"model.{key}={value!r} is not allowed: it must be true or false")
        if isinstance(default, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ConfigError(f"model.{key}={value!r} is not allowed: it must be a number")
        if type(default) is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(f"model.{key}={value!r} is not allowed: it must be a whole number")
        if isinstance(default, str) and not isinstance(value, str):
            raise ConfigError(f"model.{key}={value!r} is not allowed: it must be a string")
