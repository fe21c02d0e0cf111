"""Checks on a composed config, run before any work starts, and composing one outside the CLI.

Hydra and the typed schema (schema.py) already reject unknown groups, unknown keys and
values of the wrong type while composing; `validate` checks the keys `+key=value` can
still add, and the values. It states the top-level rules itself and asks each option's
owner for the rest:
  model=...             models/__init__.py (each model's spec: options, rules, tree shape, dropout, heads)
  fast/compile/amp      models/fused.py (through models/__init__.py: which models it runs)
  optim=..., schedule=...   training/optim.py
  device                training/device.py
  log.*                 tracking/tensorboard.py
  optuna (sweepers)     sweeps/study.py
Each mistake becomes one ConfigError line that names the key, the value and what is
allowed; nothing here reads data or builds a model.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from wavenet_harness.base.errors import ConfigError, is_number, positive_float, whole_number
from wavenet_harness.models import check_model_config
from wavenet_harness.adapter.schema import DataSchema, schema_keys
from wavenet_harness.adapter.schema import register as register_schema
from wavenet_harness.sweeps.study import SWEEPER_KEYS
from wavenet_harness.tracking.tensorboard import check_log
from wavenet_harness.training.averaging import check_ema_decay
from wavenet_harness.training.device import check_device
from wavenet_harness.training.optim import check_optim
from wavenet_harness.training.schedules import check_schedule

__all__ = ["ConfigError", "validate", "compose_config", "config_dir", "register_plugins"]


def validate(cfg: dict) -> None:
    """Raise ConfigError for the first value that cannot work."""
    _check_groups_present(cfg)
    _check_known_keys(cfg)
    _check_resume(cfg.get("resume", False))
    for key in ("block_size", "n_embd", "n_hidden", "depth", "batch_size", "max_steps"):
        whole_number(key, cfg[key])
    for key in ("eval_interval", "checkpoint_interval", "seed", "threads"):
        whole_number(key, cfg[key], allow_zero=True)
    positive_float("lr", cfg["lr"])
    _check_diverge_factor(cfg.get("diverge_factor", 0))
    check_ema_decay(cfg.get("ema_decay", 0.0))
    check_device(cfg["device"])
    check_model_config(cfg)  # and the fast path's options
    check_optim(cfg)
    check_schedule(cfg)
    data = cfg["data"]
    if not isinstance(data.get("path"), str) or not data["path"]:
        raise ConfigError(f"data.path={data.get('path')!r} is not allowed: give the path of a words file")
    check_log(cfg.get("log", {}))


def _check_known_keys(cfg: dict) -> None:
    """`+key=value` adds a key Hydra's struct mode would refuse; refuse it here instead."""
    known = set(schema_keys()) | set(SWEEPER_KEYS)
    for key in cfg:
        if key not in known:
            raise ConfigError(f"{key} is not a config key; known keys: {', '.join(schema_keys())}")
    known_data = {f.name for f in dataclasses.fields(DataSchema)}
    for key in cfg["data"]:
        if key not in known_data:
            raise ConfigError(f"data.{key} is not a config key; known keys here: {', '.join(sorted(known_data))}")


def _check_groups_present(cfg: dict) -> None:
    """A group set to null (by a config file or a script) is said in one line, not a KeyError."""
    for group in ("model", "optim", "schedule"):
        if not isinstance(cfg.get(group), dict) or "name" not in cfg[group]:
            raise ConfigError(f"{group}={cfg.get(group)!r} is not allowed: choose one of the {group} options in conf/{group}/")
    if not isinstance(cfg.get("data"), dict) or not isinstance(cfg.get("log"), dict):
        raise ConfigError("data and log must be sections of keys (data.path=..., log.progress=...), not null")


def _check_diverge_factor(value: Any) -> None:
    """0 (off), or a factor above 1: a loss of ln(vocab) is where every model starts."""
    if not is_number(value) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"diverge_factor={value!r} is not allowed: a finite number >= 0 (0 turns the check off)")
    if 0 < value <= 1:
        raise ConfigError(
            f"diverge_factor={value!r} is not allowed: it must be above 1 (a loss above ln(vocab) is where "
            "every model starts), or 0 to turn the check off"
        )


def _check_resume(value: Any) -> None:
    if isinstance(value, bool) or (isinstance(value, str) and value.strip()):
        return
    raise ConfigError(f"resume={value!r} is not allowed: use true, false or the path of a run directory or checkpoint")


# ---------------------------------------------------------------- composing


def config_dir() -> str:
    """conf/ beside the package in a source checkout, or inside it in an installed wheel."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "conf", package.parent / "conf"):
        if (candidate / "train.yaml").is_file():
            return str(candidate)
    raise FileNotFoundError("wavenet-harness: conf/train.yaml not found beside the package")


def register_plugins() -> None:
    """What Hydra needs registered before composing train.yaml: the schema, the sweeper
    and the run directory's `${wavenet_unique:}` token. The SLURM launcher is registered
    only when a sweep chooses it (hydra_plugins/wavenet_slurm_launcher), so a core install
    without the [slurm] extra never imports it."""
    from hydra_plugins.wavenet_optuna_sweeper import register as register_sweeper
    from wavenet_harness.adapter.callbacks import register_unique_resolver

    register_sweeper()
    register_schema()
    register_unique_resolver()


def compose_config(overrides: list[str] = (), hydra_config: bool = False):
    """The config `wavenet-train <overrides>` would run, for scripts and tests.

    A plain dict by default; the DictConfig with Hydra's own node when hydra_config=True.
    """
    from hydra import compose, initialize_config_dir

    register_plugins()
    with initialize_config_dir(config_dir(), version_base="1.3"):
        cfg = compose("train", overrides=list(overrides), return_hydra_config=hydra_config)
    return cfg if hydra_config else OmegaConf.to_container(cfg, resolve=True)
