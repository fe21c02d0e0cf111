"""Python arguments -> the command line's `key=value` overrides, so the API composes exactly what the CLI does.

    train("model=conv", n_hidden=128, log={"samples": 0}, lr=1e-3)
      -> ["model=conv", "n_hidden=128", "log.samples=0", "lr=0.001"]

Positional arguments are overrides as typed after `wavenet-train` (any key, `hydra.*`
and `+key=...` too). Keyword arguments are keys: a dict is a section (`log={"samples": 0}`
is `log.samples=0`; `model={"dropout": 0.1}` sets the chosen model's option), a value is
written as Hydra reads it (True -> true, None -> null, a string quoted only where Hydra's
grammar needs it). In a sweep a list is the values to sweep (`n_hidden=[64, 128]` is
`n_hidden=64,128`); in a single run a list is refused, as it would be a sweep.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from wavenet_harness.base.errors import ConfigError, UsageError

# What Hydra's override grammar takes unquoted as a plain string or number.
_PLAIN = re.compile(r"[A-Za-z0-9_./+-]+")


def hydra_value(value: Any) -> str:
    """One value as Hydra's override grammar reads it back."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str):
        return value if _PLAIN.fullmatch(value) else _quoted(value)
    raise UsageError(f"{value!r} cannot be a config value: give a number, true/false, a string, a path or None")


def _quoted(text: str) -> str:
    """'text' with its quotes escaped, and the backslashes before a quote (or the end) doubled."""
    escaped = re.sub(r"(\\+)(?='|$)", lambda m: m.group(1) * 2, text)
    return "'" + escaped.replace("'", "\\'") + "'"


def as_overrides(positional: Iterable[Any], keys: Mapping[str, Any], sweep: bool = False) -> list[str]:
    """The overrides of a call: the positional ones as given, then one per key (sections
    flattened to dotted keys). `sweep`: a list is the values to sweep over."""
    overrides = []
    for item in positional:
        if not isinstance(item, str) or "=" not in item:
            raise UsageError(f"{item!r} is not an override: give 'key=value' strings (or key=value keywords)")
        overrides.append(item)
    for key, value in keys.items():
        overrides += _key_overrides(key, value, sweep)
    return overrides


def _key_overrides(key: str, value: Any, sweep: bool) -> list[str]:
    if isinstance(value, Mapping):
        if not value:
            raise UsageError(f"{key}={{}} sets nothing: give the section's keys, e.g. {key}={{'name': value}}")
        return [o for name, inner in value.items() for o in _key_overrides(f"{key}.{name}", inner, sweep)]
    if isinstance(value, (list, tuple, set, frozenset)):
        values = list(value)
        if not sweep:
            raise ConfigError(
                f"{key}={values!r} is a list of values, which is a sweep: use "
                f"wavenet_harness.sweep({key}={values!r}, ...), or give one value"
            )
        if not values:
            raise UsageError(f"{key}=[] has no values to sweep over")
        return [f"{key}={','.join(hydra_value(v) for v in values)}"]
    return [f"{key}={hydra_value(value)}"]


def override_key(override: str) -> str:
    """The key an override sets, without Hydra's +/++/~ prefixes."""
    return override.partition("=")[0].lstrip("+~")


def sets(overrides: Iterable[str], key: str) -> bool:
    """Whether any of the overrides sets `key`."""
    return any(override_key(o) == key for o in overrides)


def call_text(function: str, overrides: Iterable[str], **keys: Any) -> str:
    """How the call is written in Python: `wavenet_harness.train('max_steps=60', run_dir='...')`."""
    parts = [repr(o) for o in overrides] + [f"{k}={v!r}" for k, v in keys.items()]
    return f"wavenet_harness.{function}({', '.join(parts)})"
