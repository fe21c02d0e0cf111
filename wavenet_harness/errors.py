"""The errors a user's mistake raises, and the small value rules option owners state checks with.

ConfigError (a config value), DataError (the words file) and CheckpointError (a checkpoint
that is missing, damaged or from another model) each carry one line meant for the user;
the console scripts show it as "<prog>: error: <line>" with exit code 2. The owners (model builders, optimizers, schedules, the fast path, the device, logging)
keep their rules beside their code and raise ConfigError; config.validate() calls them
all. This module knows no option by name and imports nothing from the package.
"""

from __future__ import annotations

import math
from typing import Any


class ConfigError(ValueError):
    """A config value that cannot work; the message is shown to the user as is."""


class DataError(ValueError):
    """A problem with the words file, phrased for the person who supplied it."""


class CheckpointError(ValueError):
    """A checkpoint that is missing, truncated, tampered with or from another model."""


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_fraction(value: Any) -> bool:
    return is_number(value) and 0 <= value < 1


# torch keeps sizes, steps and seeds in 64-bit integers.
LARGEST_INT = 2**63 - 1


def whole_number(name: str, value: Any, allow_zero: bool = False) -> None:
    smallest = 0 if allow_zero else 1
    if not is_int(value) or value < smallest:
        what = "a whole number >= 0" if allow_zero else "a positive whole number"
        raise ConfigError(f"{name}={value!r} is not allowed: {name} must be {what}")
    if value > LARGEST_INT:
        raise ConfigError(f"{name}={value} is not allowed: {name} must be below 2**63")


def positive_float(name: str, value: Any) -> None:
    if not is_number(value) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name}={value!r} is not allowed: {name} must be a positive finite number")


def one_of(name: str, value: Any, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not allowed: choose one of {', '.join(map(str, allowed))}")
