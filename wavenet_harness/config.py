"""Checks on a composed config, run before any work starts.

Hydra and the typed schema (schema.py) already reject unknown groups, unknown keys and
values of the wrong type while composing; this module checks the keys `+key=value` can
still add, and the values: each mistake becomes one ConfigError line that names the key,
the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from typing import Any

from wavenet_harness.models.tree import MODEL_BUILDERS, ModelConfigError, hier_group_sizes
from wavenet_harness.schema import DataSchema, schema_keys

DEVICES = ("auto", "cpu", "cuda", "mps")
OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("step", "constant", "cosine")
# Top-level keys a sweeper adds to each of its jobs with `+key=...` (the Optuna trial link).
KEYS_ADDED_BY_SWEEPERS = ("optuna",)
# Builder arguments that come from top-level keys, not from the model group.
SHAPE_ARGUMENTS = ("vocab_size", "block_size", "n_embd", "n_hidden", "depth")


class ConfigError(ValueError):
    """A config value that cannot work; the message is shown to the user as is."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_int(cfg: dict, key: str, allow_zero: bool = False) -> None:
    value = cfg[key]
    smallest = 0 if allow_zero else 1
    if not _is_int(value) or value < smallest:
        what = "a whole number >= 0" if allow_zero else "a positive whole number"
        raise ConfigError(f"{key}={value!r} is not allowed: {key} must be {what}")


def _is_fraction(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and 0 <= value < 1


def _positive_float(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name}={value!r} is not allowed: {name} must be a positive finite number")


def _one_of(name: str, value: Any, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not allowed: choose one of {', '.join(map(str, allowed))}")


def _check_known_keys(cfg: dict) -> None:
    """`+key=value` adds a key Hydra's struct mode would refuse; refuse it here instead."""
    known = set(schema_keys()) | set(KEYS_ADDED_BY_SWEEPERS)
    for key in cfg:
        if key not in known:
            raise ConfigError(f"{key} is not a config key; known keys: {', '.join(schema_keys())}")
    known_data = {f.name for f in dataclasses.fields(DataSchema)}
    for key in cfg["data"]:
        if key not in known_data:
            raise ConfigError(f"data.{key} is not a config key; known keys here: {', '.join(sorted(known_data))}")


def _check_model_options(model: dict) -> None:
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
    dropout = model.get("dropout", 0.0)
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"model.dropout={dropout} is not allowed: it must be at least 0 and below 1")


def _check_resume(value: Any) -> None:
    if isinstance(value, bool) or (isinstance(value, str) and value.strip()):
        return
    raise ConfigError(f"resume={value!r} is not allowed: use true, false or the path of a run directory or checkpoint")


def validate(cfg: dict) -> None:
    """Raise ConfigError for the first value that cannot work."""
    _check_known_keys(cfg)
    _check_resume(cfg.get("resume", False))
    for key in ("block_size", "n_embd", "n_hidden", "depth", "batch_size", "max_steps"):
        _positive_int(cfg, key)
    for key in ("eval_interval", "checkpoint_interval", "seed", "threads"):
        _positive_int(cfg, key, allow_zero=True)
    _positive_float("lr", cfg["lr"])
    _one_of("device", cfg["device"], DEVICES)

    model = cfg["model"]
    _one_of("model", model.get("name"), sorted(MODEL_BUILDERS))
    _check_model_options(model)
    if model["name"] != "mlp":
        try:
            hier_group_sizes(cfg["block_size"], cfg["depth"])
        except ModelConfigError as err:
            raise ConfigError(str(err)) from None

    optim = cfg["optim"]
    _one_of("optim", optim.get("name"), OPTIMIZERS)
    for key in ("momentum", "weight_decay"):
        value = optim.get(key, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 <= value < math.inf):
            raise ConfigError(f"optim.{key}={value!r} is not allowed: it must be a finite number >= 0")
    if optim["name"] == "adamw":
        betas = optim.get("betas", [0.9, 0.999])
        if not (isinstance(betas, (list, tuple)) and len(betas) == 2 and all(_is_fraction(b) for b in betas)):
            raise ConfigError(f"optim.betas={betas!r} is not allowed: two numbers in [0, 1), e.g. [0.9,0.999]")
        _positive_float("optim.eps", optim.get("eps", 1e-8))

    schedule = cfg["schedule"]
    _one_of("schedule", schedule.get("name"), SCHEDULES)
    if schedule["name"] == "step":
        decay_at = schedule.get("decay_at")
        if isinstance(decay_at, bool) or not isinstance(decay_at, (int, float)) or not 0 <= decay_at <= 1:
            raise ConfigError(f"schedule.decay_at={decay_at!r} is not allowed: a fraction of max_steps in [0, 1]")
        _positive_float("schedule.factor", schedule.get("factor"))
    if schedule["name"] == "cosine":
        warmup = schedule.get("warmup_steps")
        if not _is_int(warmup) or warmup < 0:
            raise ConfigError(f"schedule.warmup_steps={warmup!r} is not allowed: a whole number >= 0")
        if warmup > cfg["max_steps"]:
            raise ConfigError(
                f"schedule.warmup_steps={warmup} is not allowed: more warmup steps than max_steps={cfg['max_steps']}"
            )
        ratio = schedule.get("min_lr_ratio")
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 <= ratio <= 1:
            raise ConfigError(f"schedule.min_lr_ratio={ratio!r} is not allowed: a number in [0, 1]")

    data = cfg["data"]
    if not isinstance(data.get("path"), str) or not data["path"]:
        raise ConfigError(f"data.path={data.get('path')!r} is not allowed: give the path of a words file")

    _check_log(cfg.get("log", {}))


def _check_log(log: dict) -> None:
    """What is logged never changes training, but a zero or negative interval cannot work."""
    for key, smallest in (("loss_every", 1), ("smooth_window", 1), ("diagnostics_every", 1), ("samples", 0)):
        value = log.get(key, smallest)
        if not _is_int(value) or value < smallest:
            what = "a positive whole number" if smallest else "a whole number >= 0"
            raise ConfigError(f"log.{key}={value!r} is not allowed: it must be {what}")
    for key in ("progress", "diagnostics"):
        if not isinstance(log.get(key, False), bool):
            raise ConfigError(f"log.{key}={log[key]!r} is not allowed: it must be true or false")
