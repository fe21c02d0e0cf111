"""The console scripts, one module each; what they share: how a user's mistake is told.

A mistake in what the user typed or pointed at (UsageError, ConfigError, DataError,
CheckpointError, RunDirError) ends the command with exit code 2 and one line:
"<prog>: error: <what is wrong and what to do>", never a traceback.

Nothing in the package imports from here; only the console scripts' entry points (and
tests, scripts) do.
"""

from __future__ import annotations

import os
import sys


def _interrupted_quietly(exc_type, exc, tb, previous=sys.excepthook) -> None:
    """Ctrl-C that reaches the top (in the first seconds, while torch and Hydra import):
    one line, not a traceback through the import machinery. Nothing was written yet; the
    interpreter still ends as a process stopped by SIGINT (exit 130 in a shell)."""
    if issubclass(exc_type, KeyboardInterrupt):
        prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "wavenet-harness"
        print(f"{prog}: interrupted (Ctrl-C)", file=sys.stderr)
        return
    previous(exc_type, exc, tb)


sys.excepthook = _interrupted_quietly  # first, before the slow imports below and in each script

import argparse  # noqa: E402  (after the hook on purpose)
import contextlib  # noqa: E402
from typing import Iterator  # noqa: E402

from wavenet_harness.errors import CheckpointError, ConfigError, DataError  # noqa: E402
from wavenet_harness.passwords import masked  # noqa: E402
from wavenet_harness.tracking.rundir import RunDirError  # noqa: E402


class UsageError(Exception):
    """Bad input from the command line; shown as one line, exit code 2."""


USER_ERRORS = (UsageError, ConfigError, DataError, CheckpointError, RunDirError)


def error_line(prog: str, message: str) -> None:
    """One plain line on stderr, no traceback: what went wrong and what to do (any database
    password in it masked: errors often quote what the user typed)."""
    print(masked(f"{prog}: error: {message}"), file=sys.stderr)


@contextlib.contextmanager
def one_line_errors(prog: str) -> Iterator[None]:
    """Turn a user's mistake raised inside the block into one error line and exit code 2."""
    try:
        yield
    except USER_ERRORS as err:
        error_line(prog, str(err))
        sys.exit(2)


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse that reports a mistake as one UsageError line instead of usage + message."""

    def error(self, message: str) -> None:
        raise UsageError(f"{message} (see {self.prog} --help)")
