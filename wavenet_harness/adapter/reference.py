"""Every key of the config, read off its declaration: `wavenet-train --help` and the
configuration reference page (docs/reference.md) are rendered here, so neither can
name a key that does not exist or miss one that does.

A key's declaration (base/run_config.py and each group option's dataclass) gives its
type, default and one line of meaning; the options of the `experiment` and
`hparams_search` groups are the files in conf/. `scripts/config_reference.py` writes the
page; tests/unit/test_config_reference.py fails when it is out of date.
"""

from __future__ import annotations

import dataclasses
import textwrap
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from wavenet_harness.adapter.schema import group_options
from wavenet_harness.base.run_config import GROUP_BASES, HELP, TRIAL_FIELD, RunConfig, section_classes

PROG = "wavenet-train"
WIDTH = 100  # --help fits a 100-column terminal
# Groups whose options are presets (files in conf/), not declarations.
PRESET_GROUPS = ("experiment", "hparams_search")
INTERNAL_SECTIONS = (TRIAL_FIELD,)  # set by a search for its jobs, never by a user


class Key(NamedTuple):
    """One key as declared: where it lives, its type, default and meaning."""

    name: str  # dotted, as typed on the command line: lr, log.samples, model.n_head
    type: str
    default: str
    meaning: str


def type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) is list:
        return f"list[{type_name(typing.get_args(annotation)[0])}]"
    if annotation is Any:
        return "bool or path"
    return getattr(annotation, "__name__", str(annotation))


def shown(value: Any) -> str:
    """A default as it is typed on the command line."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(shown(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def declared_keys(declaration: type, prefix: str = "") -> Iterator[Key]:
    """The keys a dataclass declares, without sections and the group's `name`."""
    hints = typing.get_type_hints(declaration)
    instance = declaration()
    for field in dataclasses.fields(declaration):
        annotation = hints[field.name]
        if dataclasses.is_dataclass(annotation) or field.name == "name":
            continue
        yield Key(
            prefix + field.name,
            type_name(annotation),
            shown(getattr(instance, field.name)),
            field.metadata.get(HELP, ""),
        )


def top_level_keys() -> list[Key]:
    sections = [*section_classes(), *GROUP_BASES]
    keys = [k for k in declared_keys(RunConfig) if k.name not in sections]
    for section, declaration in section_classes().items():
        if section not in INTERNAL_SECTIONS:
            keys += declared_keys(declaration, f"{section}.")
    return keys


def option_keys(group: str, option: str) -> list[Key]:
    return list(declared_keys(group_options()[group][option], f"{group}."))


def option_summary(group: str, option: str) -> str:
    """An option's docstring's first line: what choosing it means."""
    doc = (group_options()[group][option].__doc__ or "").strip().splitlines()
    return doc[0] if doc else ""


def preset_names(conf_dir: Path, group: str) -> list[str]:
    return sorted(p.stem for p in (conf_dir / group).glob("*.yaml"))


# ---------------------------------------------------------------- --help


def help_text(conf_dir: Path) -> str:
    """`wavenet-train --help`: usage, the groups and their options, then every key."""
    lines = [
        f"{PROG}: train the character-level language models of makemore part 5 (WaveNet) on a words",
        "file; one run directory per job, with TensorBoard curves, a checkpoint and metrics.json.",
        "",
        "Usage:",
        f"  {PROG} [group=option ...] [key=value ...]      one run in runs/<date>/<time>-<token>/",
        f"  {PROG} --multirun key=a,b [key=value ...]      a sweep, one job per value",
        f"  {PROG} --multirun hparams_search=conv_optuna   an Optuna search",
        "",
        "Config groups (group=option; the first is the default):",
    ]
    defaults = {"model": "hier", "optim": "sgd", "schedule": "step"}
    for group in GROUP_BASES:
        options = sorted(group_options()[group], key=lambda name: name != defaults[group])
        lines += _wrapped(f"  {group}=", ", ".join(options))
    for group in PRESET_GROUPS:
        lines += _wrapped(f"  {group}=", ", ".join(preset_names(conf_dir, group)))
    lines += ["", "Keys (key=default  meaning):"]
    lines += [line for key in top_level_keys() for line in _key_lines(key)]
    for group in GROUP_BASES:
        for option in group_options()[group]:
            keys = option_keys(group, option)
            if keys:
                lines += ["", f"  with {group}={option}:"]
                lines += [line for key in keys for line in _key_lines(key)]
    lines += [
        "",
        f"Every key: docs/reference.md.  The composed config: {PROG} --cfg job.",
        f"Hydra's own flags: {PROG} --hydra-help.  The version: {PROG} --version.",
        "Dashboards: tensorboard --logdir runs/",
    ]
    return "\n".join(lines)


def _key_lines(key: Key) -> list[str]:
    return _wrapped(f"  {key.name}={key.default}".ljust(34) + " ", key.meaning)


def _wrapped(head: str, text: str) -> list[str]:
    if len(head) > 40:  # a long default: the meaning goes on the next line
        return [head.rstrip(), *textwrap.wrap(text, WIDTH, initial_indent=" " * 35, subsequent_indent=" " * 35)]
    return textwrap.wrap(text, WIDTH, initial_indent=head, subsequent_indent=" " * len(head)) or [head.rstrip()]


# ---------------------------------------------------------------- docs/reference.md


def reference_markdown(conf_dir: Path) -> str:
    """docs/reference.md: every key of every option, with its type, default and meaning."""
    out = [
        "# Configuration reference",
        "",
        "Every key `wavenet-train` takes, generated from the declarations in the code",
        "(`wavenet_harness/base/run_config.py` and each option's dataclass beside its code) by",
        "`python scripts/config_reference.py` (from a checkout). A key that is not here is refused",
        "before any work, with the closest known keys. How the keys are used:",
        "[Configuration and models](configuration.md).",
        "",
        "## Top-level keys and sections",
        "",
        *_table(top_level_keys()),
    ]
    for group in GROUP_BASES:
        out += ["", f"## `{group}`", ""]
        for option in group_options()[group]:
            keys = option_keys(group, option)
            out += [f"### `{group}={option}`", "", option_summary(group, option), ""]
            out += [*_table(keys), ""] if keys else ["No keys of its own.", ""]
    for group in PRESET_GROUPS:
        names = ", ".join(f"`{name}`" for name in preset_names(conf_dir, group))
        out += ["", f"## `{group}`", "", f"Presets in `conf/{group}/`: {names}."]
    return "\n".join(out).rstrip() + "\n"


def _table(keys: list[Key]) -> list[str]:
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    return rows + [f"| `{k.name}` | {k.type} | `{k.default}` | {k.meaning.replace('|', '/')} |" for k in keys]
