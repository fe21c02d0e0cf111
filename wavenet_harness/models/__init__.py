"""The model registry: config names -> builders, and the rules of the `model` config group.

  mlp, hier   models/tree.py (the lecture's layers, models/layers.py)
  conv        models/conv.py (the hier tree as a dilated convolution, with its word batches)
  wavenet     models/wavenet.py (the WaveNet paper's gated residual stack)
  gru         models/gru.py (the recurrent baseline)
  transformer models/transformer.py (a small decoder-only transformer)
  fast path   models/fused.py (fast=true / compile=true / amp)

Every model has one interface: `model(idx, targets=None) -> (logits, loss)`; on
(B, block_size) windows the logits are the next character's after each window. A run's
batches come from `batches_from_config`: the lecture's random windows, or whole words
(every position a prediction) for model=conv with all_positions and for wavenet, gru
and transformer. Each model's option rules live with the model (MODEL_RULES). This
package knows nothing of training, tracking or files.
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
from wavenet_harness.models.gru import build_gru, check_gru
from wavenet_harness.models.transformer import build_transformer, check_transformer
from wavenet_harness.models.tree import ModelConfigError, build_hier, build_mlp, hier_group_sizes
from wavenet_harness.models.wavenet import build_wavenet, check_wavenet

MODEL_BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "mlp": build_mlp,
    "hier": build_hier,
    "conv": build_conv,
    "wavenet": build_wavenet,
    "gru": build_gru,
    "transformer": build_transformer,
}
MODELS = tuple(sorted(MODEL_BUILDERS))
# Builder arguments that come from top-level keys, not from the model group.
SHAPE_ARGUMENTS = ("vocab_size", "block_size", "n_embd", "n_hidden", "depth")
# Keys that must match for a checkpoint to continue a run.
SHAPE_KEYS = ("block_size", "n_embd", "n_hidden", "depth", "model")
# Options only some models have, shown for every job in TensorBoard's HParams tab with
# the value that means "off" where the chosen model lacks them.
HPARAM_COLUMNS: dict[str, Any] = {
    "batchnorm_bug": False, "residual": False, "dropout": 0.0, "norm": "none", "n_head": 0,
}
# Models that train on whole words (every position a prediction) from WordBatches.
WORD_MODELS = ("wavenet", "gru", "transformer")


def _check_tree(block_size: int, n_embd: int, n_hidden: int, depth: int, dropout: float = 0.0, **_) -> None:
    """hier and conv: a tree of pairs that divides block_size; conv's dropout."""
    check_dropout(dropout)
    hier_group_sizes(block_size, depth)


def _check_mlp(*shape, **options) -> None:
    """mlp: any depth >= 1 (a top-level rule) fits any block_size."""


# The value rules of each model, (block_size, n_embd, n_hidden, depth, **model options):
# run by validate() before any data loads; the builders apply the same rules.
MODEL_RULES: dict[str, Callable[..., None]] = {
    "mlp": _check_mlp,
    "hier": _check_tree,
    "conv": _check_tree,
    "wavenet": check_wavenet,
    "gru": check_gru,
    "transformer": check_transformer,
}


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
    """The run's training batches: whole words for model=conv with all_positions and the
    WORD_MODELS, else the lecture's windows (`train_xy`, already on the run's device)."""
    model = cfg["model"]
    if model.get("name") in WORD_MODELS or (model.get("name") == "conv" and model.get("all_positions", False)):
        device = train_xy[0].device
        return WordBatches(data.train.words, data.vocab.stoi, cfg["block_size"], cfg["batch_size"], device)
    return WindowBatches(*train_xy, cfg["batch_size"])


def check_model_config(cfg: dict[str, Any]) -> None:
    """The `model` group: a known name, the chosen builder's options and their rules."""
    model = cfg["model"]
    one_of("model", model.get("name"), MODELS)
    _check_options(model)
    options = {k: v for k, v in model.items() if k != "name"}
    MODEL_RULES[model["name"]](cfg["block_size"], cfg["n_embd"], cfg["n_hidden"], cfg["depth"], **options)
    _check_batch_size(cfg)


def _check_batch_size(cfg: dict[str, Any]) -> None:
    """Batchnorm needs two rows per batch; model=conv's batches are whole words, many rows
    each, and the WORD_MODELS have no batchnorm."""
    if cfg["batch_size"] < 2 and cfg["model"]["name"] not in ("conv", *WORD_MODELS):
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
        if type(default) is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(f"model.{key}={value!r} is not allowed: it must be a whole number")
        if isinstance(default, str) and not isinstance(value, str):
            raise ConfigError(f"model.{key}={value!r} is not allowed: it must be a string")
