"""The declarations (base/run_config.py and each option's dataclass) registered with Hydra,
and a config mistake told in one line.

`register()` stores RunConfig in Hydra's ConfigStore as `train_schema` (the first entry
of train.yaml's defaults list) and every group option's dataclass as `schema/<group>/
<name>`, which conf/<group>/<name>.yaml composes onto (`/schema/model/hier@model`). So
while composing, Hydra refuses an unknown or misspelt key, a key of another option
(`model.n_head` with model=hier) and a value of the wrong type, in any group. `+key=value`
can still add a key (Hydra opens the node for it): config.py's `typed_config` refuses
those with the same line (`unknown_key`).

This module knows Hydra and OmegaConf, and the registries of options (models, optim,
schedules); nothing of data, training or files.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException, ValidationError

from wavenet_harness.base.extras import has_extra, missing_extra_message
from wavenet_harness.base.run_config import GROUP_BASES, RunConfig, section_classes

SCHEMA_NAME = "train_schema"
SCHEMA_GROUP = "schema"  # schema/model/hier, schema/optim/adamw, ...


def config_dir() -> str:
    """conf/ beside the package in a source checkout, or inside it in an installed wheel."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "conf", package.parent / "conf"):
        if (candidate / "train.yaml").is_file():
            return str(candidate)
    raise FileNotFoundError("wavenet-harness: conf/train.yaml not found beside the package")


def group_options() -> dict[str, dict[str, type]]:
    """Every option of every config group, by group and name: the declared dataclasses."""
    from wavenet_harness.models import SPECS
    from wavenet_harness.training.optim import OPTIMIZERS
    from wavenet_harness.training.schedules import SCHEDULES

    return {
        "model": {name: spec.options for name, spec in SPECS.items()},
        "optim": {name: choice.options for name, choice in OPTIMIZERS.items()},
        "schedule": {name: choice.options for name, choice in SCHEDULES.items()},
    }


def editable(declaration: type) -> DictConfig:
    """A frozen dataclass as a config node Hydra can compose onto: OmegaConf makes a frozen
    dataclass read-only; the declarations stay frozen for the code that reads them."""
    node = OmegaConf.structured(declaration)
    _clear_readonly(node)
    return node


def _clear_readonly(node: Any) -> None:
    node._set_flag("readonly", None)
    if isinstance(node, DictConfig) and not node._is_none() and not node._is_missing():
        for name in node:
            _clear_readonly(node._get_node(name))


def register() -> None:
    store = ConfigStore.instance()
    store.store(name=SCHEMA_NAME, node=editable(RunConfig))
    for group, options in group_options().items():
        for name, declaration in options.items():
            store.store(group=f"{SCHEMA_GROUP}/{group}", name=name, node=editable(declaration))


# ---------------------------------------------------------------- the keys a section takes


def declaration_at(section: str, chosen: str | None = None) -> type | None:
    """The dataclass that declares `section`'s keys ("" for the top level); a group's is its
    chosen option's."""
    if not section:
        return RunConfig
    if section in GROUP_BASES:
        return group_options()[section].get(chosen or "")
    return section_classes().get(section)


def declared_keys(declaration: type) -> list[str]:
    return [f.name for f in dataclasses.fields(declaration)]


def unknown_key(full_key: str, chosen: str | None = None) -> str:
    """One line for a key nobody declared: where it was given, the closest keys, and which
    other option of the group has it."""
    section, _, name = full_key.rpartition(".")
    declaration = declaration_at(section, chosen)
    known = declared_keys(declaration) if declaration else []
    where = f"{section}={chosen}" if section in GROUP_BASES else (section or "the config")
    line = f"{full_key} is not a key of {where}" if section else f"{full_key} is not a config key"
    owners = _other_owners(section, chosen, name)
    if owners:
        line += f" (it is a key of {section}={', '.join(owners)}: choose that option)"
    close = difflib.get_close_matches(name, known, n=2, cutoff=0.6)
    if close:
        line += f"; did you mean {' or '.join(close)}?"
    return line + (f"; {where} takes: {', '.join(k for k in known if k != 'name')}" if known else "")


def _other_owners(section: str, chosen: str | None, name: str) -> list[str]:
    if section not in GROUP_BASES:
        return []
    return [
        option
        for option, declaration in group_options()[section].items()
        if option != chosen and name in declared_keys(declaration)
    ]


# ---------------------------------------------------------------- Hydra's mistakes in one line

_TYPE_WORDS: dict[Any, str] = {int: "a whole number", float: "a number", bool: "true or false", str: "a string"}


def _expected(node: Any, name: str) -> str | None:
    """What a node's declaration wants at key `name`, in words; None if it does not say."""
    declaration = OmegaConf.get_type(node) if isinstance(node, DictConfig) else None
    if declaration is None or not dataclasses.is_dataclass(declaration):
        return None
    wanted = typing.get_type_hints(declaration).get(name)
    if typing.get_origin(wanted) is list:
        return "a list, e.g. [0.9,0.999]"
    return _TYPE_WORDS.get(wanted)


def _chosen(node: Any) -> str | None:
    """The option a group's node holds (model=hier: 'hier')."""
    try:
        return str(node["name"]) if isinstance(node, DictConfig) and "name" in node else None
    except OmegaConfBaseException:
        return None


def _null_group(argv: Sequence[str]) -> str | None:
    """`model=null` on the command line: Hydra's ValueError does not say which group."""
    for arg in argv:
        key, _, value = arg.partition("=")
        if value.strip() == "null" and "." not in key:
            return key.lstrip("+~")
    return None


def explain_config_error(err: BaseException, argv: Sequence[str] = ()) -> str | None:
    """One line for a mistake Hydra or OmegaConf found in the config; None if it is not one."""
    if "submitit" in str(err) and not has_extra("slurm"):  # hydra/launcher=slurm without its extra
        return f"hydra/launcher: {missing_extra_message('slurm')}"
    if isinstance(err, ValueError) and str(err).startswith("Config group override must be a string"):
        group = _null_group(list(argv))
        given = f"{group}=null" if group else "a config group set to null"
        return f"{given} is not allowed: a config group needs one of its options (or leave it out for the default)"
    if isinstance(err, ValueError) and str(err).startswith("Only one of --run, --multirun, --cfg"):
        return (
            "--cfg, --info and --multirun cannot be combined: show one job's config with "
            "wavenet-train --cfg job <overrides> (a sweep's values one at a time)"
        )
    if isinstance(err, MissingConfigException) and err.options is not None:
        parts = (err.missing_cfg_file or "").rsplit("/", 1)
        if len(parts) == 2:
            return f"{parts[0]}={parts[1]} is not allowed: choose one of {', '.join(err.options)}"
    if isinstance(err, OverrideParseException):
        return f"cannot parse the override {err.override!r}: {err.message.splitlines()[0]}"
    cause = err.__cause__ if isinstance(err.__cause__, OmegaConfBaseException) else err
    return _explain_node_error(err, cause) or _explain_other(err, cause)


def _explain_node_error(err: BaseException, cause: BaseException) -> str | None:
    """A key or a value OmegaConf refused at a known place in the config."""
    full_key = getattr(cause, "full_key", None)
    if not full_key:
        return None
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)):
        return unknown_key(full_key, _chosen(cause.parent_node))
    if isinstance(cause, ValidationError):
        override = re.search(r"override (\S+)", str(err))
        given = override.group(1) if override else f"{full_key}={cause.value!r}"
        wanted = _expected(cause.parent_node, full_key.rpartition(".")[2])
        reason = f"{full_key} must be {wanted}" if wanted else str(cause.msg).splitlines()[0]
        return f"{given} is not allowed: {reason}"
    return None


def _explain_other(err: BaseException, cause: BaseException) -> str | None:
    from_file = re.search(r"In '([^']+)': ConfigKeyError .*\nKey '([^']+)' not in '(\w+)'", str(err))
    if from_file:  # a config file sets a key its declaration lacks
        config, key, declaration = from_file.groups()
        return f"{config}.yaml sets {key}, which {declaration} does not declare; remove it or declare it"
    if isinstance(err, (HydraException, OmegaConfBaseException)):
        lines = [line.strip() for line in str(err).split("Config search path:")[0].splitlines() if line.strip()]
        if isinstance(cause, OmegaConfBaseException) and cause is not err:
            lines.append(str(cause).splitlines()[0])
        return " ".join(lines) or type(err).__name__
    return None
