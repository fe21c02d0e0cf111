"""The model registry: config names -> builders, and the rules of the `model` config group.

  mlp, hier   models/tree.py (the lecture's layers, models/layers.py)
  conv        models/conv.py (the hier tree as a dilated convolution, with its word batches)
  fast path   models/fused.py (fast=true / compile=true / amp)

Every model has one interface: `model(idx, targets=None) -> (logits, loss)`. A run's
batches come from `batches_from_config`: the lecture's random windows, or whole words
for model=conv with all_positions. This package knows nothing of training, tracking or
files.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import torch
from torch import nn

from wavenet_harness.errors import ConfigError, one_of
from wavenet_harness.data import Dataset, WindowBatches
from wavenet_harness.models.conv import WordBatches, build_conv, check_dropout
from wavenet_harness.models.fused import speed_up_model
from wavenet_harness.models.tree import ModelConfigError, build_hier, build_mlp, hier_group_sizes

MODEL_BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "mlp": build_mlp,
    "hier": build_hier,
    "conv": build_conv,
}
MODELS = tuple(sorted(MODEL_BUILDERS))
# Builder arguments that come from top-level keys, not from the model group.
SHAPE_ARGUMENTS = ("vocab_size", "block_size", "n_embd", "n_hidden", "depth")
# Keys that must match for a checkpoint to continue a run.
SHAPE_KEYS = ("block_size", "n_embd", "n_hidden", "depth", "model")
# Options only some models have, shown for every job in TensorBoard's HParams tab with
# the value that means "off" where the chosen model lacks them.
HPARAM_COLUMNS: dict[str, Any] = {"batchnorm_bug": False}


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def build_model(name: str, vocab_size: int, block_size: int, n_embd: int, n_hidden: int, depth: int, **options) -> nn.Module:
    """Build a model by its config name; options are the model group's extra keys."""
    if name not in MODEL_BUILDERS:
        raise ModelConfigError(f"model.name={name!r} is not known; choose one of {sorted(MODEL_BUILDERS)}")
    return MODEL_BUILDERS[name](vocab_size, block_size, n_embd, n_hidden, depth, **options)


def build_model_from_config(cfg: dict[str, Any], vocab_size: int) -> nn.Module:
    """The config's model; on the fast path (fast=true / compile=true) its fused version."""
    options = {k: v for k, v in cfg["model"].items() if k != "name"}
    model = build_model(
        cfg["model"]["name"], vocab_size, cfg["block_size"], cfg["n_embd"], cfg["n_hidden"], cfg["depth"], **options
    )
    return speed_up_model(model, cfg)


def batches_from_config(cfg: dict[str, Any], data: Dataset, train_xy: tuple[torch.Tensor, torch.Tensor]):
    """The run's training batches: whole words for model=conv with all_positions, else the
    lecture's windows (`train_xy`, already on the run's device)."""
    model = cfg["model"]
    if model.get("name") == "conv" and model.get("all_positions", False):
        device = train_xy[0].device
        return WordBatches(data.train.words, data.vocab.stoi, cfg["block_size"], cfg["batch_size"], device)
    return WindowBatches(*train_xy, cfg["batch_size"])


def check_model_config(cfg: dict[str, Any]) -> None:
    """The `model` group: a known name, the chosen builder's options, a tree that fits block_size."""
    model = cfg["model"]
    one_of("model", model.get("name"), MODELS)
    _check_options(model)
    if "dropout" in model:
        check_dropout(model["dropout"])
    if model["name"] != "mlp":
        hier_group_sizes(cfg["block_size"], cfg["depth"])
    _check_batch_size(cfg)


def _check_batch_size(cfg: dict[str, Any]) -> None:
    """Batchnorm needs two rows per batch; model=conv's batches are whole words, many rows each."""
    if cfg["batch_size"] < 2 and cfg["model"]["name"] != "conv":
        raise ConfigError(f"batch_size={cfg['batch_size']} is not allowed: batchnorm needs at least 2 examples per batch")


def _check_options(model: dict[str, Any]) -> None:
    """The model group's extra keys are the chosen builder's keyword arguments."""
    parameters = inspect.signature(MODEL_BUILDERS[model["name"]]).parameters
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
