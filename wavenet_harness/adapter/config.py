"""A composed config made typed and checked, once, before any work; composing one outside the CLI.

`validate(plain)` turns the config Hydra composed (a plain dict) into the frozen RunConfig
(base/run_config.py) that every layer below receives: it refuses keys nobody declared
(the ones `+key=value` adds past Hydra), converts and type-checks every value against
its declaration, fits a preset's warmup to a shortened run, then checks the values' rules.
It states the top-level rules itself and asks each option's owner for the rest:
  model=...                 models/__init__.py (each model's spec: rules, tree shape, dropout, heads)
  fast/compile/amp          models/speed.py (through models/__init__.py: which models it runs)
  optim=..., schedule=...   training/optim.py, training/schedules.py
  device, ema_decay         training/device.py, training/averaging.py
  log.*                     tracking/tensorboard.py
Each mistake becomes one ConfigError line that names the key, the value and what is
allowed; nothing here reads data or builds a model.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from wavenet_harness.adapter.schema import (
    GROUP_BASES,
    config_dir,
    declaration_at,
    declared_keys,
    editable,
    explain_config_error,
    group_options,
    unknown_key,
)
from wavenet_harness.adapter.schema import register as register_schema
from wavenet_harness.base.errors import ConfigError, is_number, positive_float, whole_number
from wavenet_harness.base.run_config import RunConfig, section_classes
from wavenet_harness.models import check_model
from wavenet_harness.tracking.tensorboard import check_log
from wavenet_harness.training.averaging import check_ema_decay
from wavenet_harness.training.device import check_device
from wavenet_harness.training.optim import check_optim
from wavenet_harness.training.schedules import check_schedule, fit_warmup

HELP_RESOLVER = "wavenet_help"

__all__ = [
    "ConfigError",
    "validate",
    "typed_config",
    "compose_config",
    "load_run_config",
    "config_dir",
    "register_plugins",
]


def validate(plain: Mapping[str, Any] | RunConfig, overrides: Iterable[str] = (), notes=None) -> RunConfig:
    """The typed, checked RunConfig of a composed config; ConfigError for the first mistake.

    `overrides`: the command line's (`key=value`): their true/false values are checked as
    typed, and a preset's warmup is fitted to a shortened run unless schedule.warmup_steps
    is one of them; `notes(line)` hears what was fitted (default: printed to stderr).
    """
    config = plain if isinstance(plain, RunConfig) else typed_config(plain)
    given = dict(_key_and_value(o) for o in overrides)
    _check_switches(config, given)
    schedule, note = fit_warmup(config.schedule, config.max_steps, explicit="schedule.warmup_steps" in given)
    if note:
        config = dataclasses.replace(config, schedule=schedule)
        (notes or _print_note)(note)
    check_rules(config)
    return config


def _key_and_value(override: str) -> tuple[str, str]:
    key, _, value = str(override).partition("=")
    return key.lstrip("+~"), value


def _check_switches(config: RunConfig, given: Mapping[str, str]) -> None:
    """A true/false key given anything else: OmegaConf would take 3 as true."""
    for full_key, value in given.items():
        section, _, name = full_key.rpartition(".")
        chosen = getattr(getattr(config, section, None), "name", None) if section else None
        declaration = declaration_at(section, chosen) if "." not in section else None
        is_bool = declaration is not None and typing.get_type_hints(declaration).get(name) is bool
        if is_bool and value.strip().lower() not in ("true", "false"):
            raise ConfigError(f"{full_key}={value} is not allowed: {full_key} must be true or false")


def _print_note(line: str) -> None:
    print(f"wavenet-train: note: {line}", file=sys.stderr)


def typed_config(plain: Mapping[str, Any]) -> RunConfig:
    """The frozen RunConfig of a plain config: every key declared, every value of its type."""
    _check_declared(plain)
    node = editable(RunConfig)
    for group in GROUP_BASES:
        node[group] = editable(group_options()[group][plain[group]["name"]])
    try:
        node.merge_with({key: value for key, value in plain.items() if key != "hydra"})
        # to_object builds the node's structured type: a RunConfig (OmegaConf's hint says Any container).
        return typing.cast(RunConfig, OmegaConf.to_object(node))
    except OmegaConfBaseException as err:
        raise ConfigError(explain_config_error(err) or str(err).splitlines()[0]) from None


def _check_declared(plain: Mapping[str, Any]) -> None:
    """Every key of the config is declared: at the top, in each section, in each group's chosen option."""
    for group in GROUP_BASES:
        value = plain.get(group)
        if not isinstance(value, Mapping) or value.get("name") not in group_options()[group]:
            shown = value.get("name") if isinstance(value, Mapping) else value
            raise ConfigError(
                f"{group}={shown!r} is not allowed: choose one of {', '.join(group_options()[group])} (conf/{group}/)"
            )
    _check_keys("", plain, None)
    for section in (*GROUP_BASES, *section_classes()):
        if section not in plain and section not in GROUP_BASES:
            continue  # a section left out keeps its declared defaults
        value = plain.get(section)
        if not isinstance(value, Mapping):
            raise ConfigError(f"{section} must be a section of keys ({section}.<key>=...), not {value!r}")
        _check_keys(section, value, value.get("name") if section in GROUP_BASES else None)


def _check_keys(section: str, values: Mapping[str, Any], chosen: str | None) -> None:
    declaration = declaration_at(section, chosen)
    assert declaration is not None  # _check_declared has checked every section and each group's option
    known = declared_keys(declaration)
    for name in values:
        if name not in known and not (section == "" and name == "hydra"):
            raise ConfigError(unknown_key(f"{section}.{name}" if section else str(name), chosen))


def check_rules(config: RunConfig) -> None:
    """Raise ConfigError for the first value that cannot work."""
    _check_resume(config.resume)
    for name in ("block_size", "n_embd", "n_hidden", "depth", "batch_size", "max_steps"):
        whole_number(name, getattr(config, name))
    for name in ("eval_interval", "checkpoint_interval", "seed", "threads"):
        whole_number(name, getattr(config, name), allow_zero=True)
    positive_float("lr", config.lr)
    _check_diverge_factor(config.diverge_factor)
    check_ema_decay(config.ema_decay)
    check_device(config.device)
    check_model(config)  # and the fast path's options
    check_optim(config)
    check_schedule(config)
    if not config.data.path:
        raise ConfigError("data.path='' is not allowed: give the path of a words file")
    whole_number("data.split_seed", config.data.split_seed, allow_zero=True)
    check_log(config.log)


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


def register_plugins() -> None:
    """What Hydra needs registered before composing train.yaml: the declarations, the sweeper,
    the run directory's `${wavenet_unique:}` token and `${wavenet_help:}`. The SLURM launcher is registered
    only when a sweep chooses it (hydra_plugins/wavenet_slurm_launcher), so a core install
    without the [slurm] extra never imports it."""
    from hydra_plugins.wavenet_optuna_sweeper import register as register_sweeper
    from wavenet_harness.adapter.callbacks import register_unique_resolver
    from wavenet_harness.adapter.reference import help_text

    register_sweeper()
    register_schema()
    register_unique_resolver()
    if not OmegaConf.has_resolver(HELP_RESOLVER):  # hydra.help.template: --help from the declarations
        OmegaConf.register_new_resolver(HELP_RESOLVER, lambda: help_text(Path(config_dir())))


def compose_config(overrides: Sequence[str] = (), hydra_config: bool = False) -> Any:
    """The config `wavenet-train <overrides>` composes, for scripts and tests, unchecked.

    A plain dict by default; the DictConfig with Hydra's own node when hydra_config=True.
    """
    from hydra import compose, initialize_config_dir

    register_plugins()
    try:
        with initialize_config_dir(config_dir(), version_base="1.3"):
            cfg = compose("train", overrides=list(overrides), return_hydra_config=hydra_config)
    except (HydraException, OmegaConfBaseException, ValueError) as err:  # the CLI's one line, as a ConfigError
        message = explain_config_error(err, list(overrides))
        if message is None:
            raise
        raise ConfigError(message) from None
    return cfg if hydra_config else OmegaConf.to_container(cfg, resolve=True)


def load_run_config(overrides: Sequence[str] = ()) -> RunConfig:
    """The typed, checked config `wavenet-train <overrides>` would run."""
    return validate(compose_config(list(overrides)), overrides=overrides)
