"""The one error contract: a user's mistake is one line and exit code 2, never a traceback.

Every mistake in what the user typed or pointed at raises a `UserError` (or one of its
kinds below) whose message is the whole line meant for them: what is wrong and what to do.
Whatever stands at the top (a console script, a Hydra callback, the sweeper, a launcher, a
script) ends the same way, through `exit_with_error`: "<prog>: error: <line>" on stderr,
any database password masked, exit code 2. Option owners (model builders, optimizers,
schedules, the fast path, the device, logging) keep their rules beside their code and
raise ConfigError with the small value rules below; config.validate() calls them all.
This module knows no option by name.
"""

from __future__ import annotations

import math
import sys
from typing import Any, NoReturn

from wavenet_harness.base.passwords import masked


class UserError(ValueError):
    """A mistake in what the user typed or pointed at; the message is shown as is."""


class UsageError(UserError):
    """Bad input on the command line (an argument, a flag)."""


class ConfigError(UserError):
    """A config value that cannot work (a model, optimizer, schedule, sweep or search option)."""


class DataError(UserError):
    """A problem with the words file, phrased for the person who supplied it."""


class CheckpointError(UserError):
    """A checkpoint that is missing, truncated, tampered with or from another model."""


class RunDirError(UserError):
    """A path that is not the run directory, sweep folder or output file it should be."""


class RunDirTaken(RunDirError):
    """The folder holds (or was just taken by) another run or sweep; nothing was written."""


class RunDirFull(RunDirError):
    """A write in the run directory failed for want of space (or quota, or a size limit)."""


class ExtraMissing(UserError):
    """A feature whose optional extra is not installed (base/extras.py names the pip command)."""


def error_line(prog: str, message: str) -> None:
    """One plain line on stderr, no traceback (any database password in it masked: errors
    often quote what the user typed)."""
    print(masked(f"{prog}: error: {message}"), file=sys.stderr, flush=True)


def exit_with_error(message: str, prog: str = "wavenet-train", code: int = 2) -> NoReturn:
    """Say the mistake in one line and end the process with `code` (2: the user's mistake).
    SystemExit passes through Hydra's callback and sweeper guards on purpose."""
    error_line(prog, message)
    sys.exit(code)


def explain_os_error(err: BaseException) -> str | None:
    """A folder or file the user pointed at that cannot be made or written, in one line."""
    if isinstance(err, OSError) and err.filename:
        return f"cannot create or write {err.filename}: {err.strerror or type(err).__name__}"
    return None


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
