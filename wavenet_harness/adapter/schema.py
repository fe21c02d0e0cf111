"""The typed schema under conf/train.yaml, and Hydra's config mistakes told in one line.

`TrainSchema` is registered in Hydra's ConfigStore as `train_schema` and is the first
entry of train.yaml's defaults list, so Hydra composes every config onto it: a value of
the wrong type (`n_hidden=abc`, `block_size=2.5`, `lr=null`) or a key the schema does not
have (`nhidden=64`) is refused while composing, before any work starts. Every top-level
key of train.yaml needs a typed field here.

The groups `model`, `optim` and `schedule` (and `log`) stay open dictionaries: each option file
brings its own keys (`model.batchnorm_bug`, `optim.betas`, ...), and config.py checks
their values against the chosen option's owner. This module knows Hydra and OmegaConf,
nothing of models, training or files.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass, field
from typing import Any, Dict

from hydra.core.config_store import ConfigStore
from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException, ValidationError

from wavenet_harness.base.extras import has_extra, missing_extra_message

SCHEMA_NAME = "train_schema"


@dataclass
class DataSchema:
    path: str = "data/names.txt"
    split_seed: int = 42


@dataclass
class TrainSchema:
    block_size: int = 8
    n_embd: int = 24
    n_hidden: int = 128
    depth: int = 3
    batch_size: int = 32
    max_steps: int = 200000
    lr: float = 0.1
    seed: int = 42
    device: str = "auto"
    threads: int = 0
    eval_interval: int = 10000
    checkpoint_interval: int = 10000
    diverge_factor: float = 10.0
    ema_decay: float = 0.0
    # false, true, or the path of a run directory / checkpoint: OmegaConf 2.3 has no
    # Union of primitives, so config.py checks it.
    resume: Any = False
    fast: bool = False
    compile: bool = False
    amp: str = "none"
    data: DataSchema = field(default_factory=DataSchema)
    # How a run is watched grows often (samples, diagnostics, ...): open, checked by tracking/tensorboard.py.
    log: Dict[str, Any] = field(default_factory=dict)
    model: Dict[str, Any] = field(default_factory=dict)
    optim: Dict[str, Any] = field(default_factory=dict)
    schedule: Dict[str, Any] = field(default_factory=dict)


def register() -> None:
    ConfigStore.instance().store(name=SCHEMA_NAME, node=TrainSchema)


def schema_keys() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(TrainSchema))


_TYPE_WORDS = {int: "a whole number", float: "a number", bool: "true or false", str: "a string"}


def _expected(full_key: str) -> str | None:
    """What the schema wants at a dotted key, in words; None if it does not say."""
    node: Any = TrainSchema
    for part in full_key.split("."):
        if not dataclasses.is_dataclass(node):
            return None
        node = typing.get_type_hints(node).get(part)
    return _TYPE_WORDS.get(node)


def _known_keys(parent: Any) -> str:
    try:
        keys = [str(k) for k in parent.keys() if k != "hydra"]
    except Exception:  # not a mapping: say nothing rather than guess
        return ""
    return f"; known keys here: {', '.join(keys)}" if keys else ""


def _null_group(argv: list[str]) -> str | None:
    """`model=null` on the command line: Hydra's ValueError does not say which group."""
    for arg in argv:
        key, _, value = arg.partition("=")
        if value.strip() == "null" and "." not in key:
            return key.lstrip("+~")
    return None


def explain_config_error(err: BaseException, argv: list[str] = ()) -> str | None:
    """One line for a mistake Hydra or OmegaConf found in the config; None if it is not one."""
    if "submitit" in str(err) and not has_extra("slurm"):  # hydra/launcher=slurm without its extra
        return f"hydra/launcher: {missing_extra_message('slurm')}"
    if isinstance(err, ValueError) and str(err).startswith("Config group override must be a string"):
        group = _null_group(list(argv))
        given = f"{group}=null" if group else "a config group set to null"
        return f"{given} is not allowed: a config group needs one of its options (or leave it out for the default)"
    cause = err.__cause__ if isinstance(err.__cause__, OmegaConfBaseException) else err
    if isinstance(err, MissingConfigException) and err.options is not None:
        group = (err.missing_cfg_file or "").rsplit("/", 1)
        if len(group) == 2:
            return f"{group[0]}={group[1]} is not allowed: choose one of {', '.join(err.options)}"
    if isinstance(err, OverrideParseException):
        return f"cannot parse the override {err.override!r}: {err.message.splitlines()[0]}"
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and cause.full_key:
        return f"{cause.full_key} is not a config key{_known_keys(cause.parent_node)}"
    if isinstance(cause, ValidationError) and cause.full_key:
        override = re.search(r"override (\S+)", str(err))
        given = override.group(1) if override else f"{cause.full_key}={cause.value!r}"
        wanted = _expected(cause.full_key)
        reason = f"{cause.full_key} must be {wanted}" if wanted else str(cause.msg).splitlines()[0]
        return f"{given} is not allowed: {reason}"
    from_file = re.search(r"In '([^']+)': ConfigKeyError .*\nKey '([^']+)' not in 'TrainSchema'", str(err))
    if from_file:  # a config file sets a top-level key the schema lacks: a developer's mistake
        config, key = from_file.groups()
        return f"{config}.yaml sets {key}, which has no typed field in TrainSchema (wavenet_harness/adapter/schema.py); add one"
    if isinstance(err, (HydraException, OmegaConfBaseException)):
        lines = [line.strip() for line in str(err).split("Config search path:")[0].splitlines() if line.strip()]
        if isinstance(cause, OmegaConfBaseException) and cause is not err:
            lines.append(str(cause).splitlines()[0])
        return " ".join(lines) or type(err).__name__
    return None
