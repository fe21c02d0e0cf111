"""The console scripts, one module each; what they share: how a user's mistake is told.

A mistake in what the user typed or pointed at (a base.errors.UserError) ends the command
with exit code 2 and one line: "<prog>: error: <what is wrong and what to do>", never a
traceback (base/errors.py: exit_with_error).

Nothing in the package imports from here; only the console scripts' entry points (and
tests, scripts) do.
"""

from __future__ import annotations

import os
import sys


def _interrupted_quietly(exc_type, exc, tb, previous=sys.excepthook) -> None:
    """Ctrl-C that reaches the top (in the first seconds, while torch and Hydra import):
    one line, not a traceback through the import machinery. Nothing was written yet; the
    interpreter still ends as a process stopped by SIGINT (exit 130 in a shell). A closed
    pipe on stdout ends quietly."""
    if issubclass(exc_type, KeyboardInterrupt):
        prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "wavenet-harness"
        print(f"{prog}: interrupted (Ctrl-C)", file=sys.stderr)
        return
    if issubclass(exc_type, BrokenPipeError):
        # The reader closed the pipe (`wavenet-sample RUN -n 20000 | head -1`): end quietly, as
        # `head` users expect; stdout goes to /dev/null so the exit's flush does not complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    previous(exc_type, exc, tb)


sys.excepthook = _interrupted_quietly  # first, before the slow imports below and in each script

import argparse  # noqa: E402  (after the hook on purpose)
import contextlib  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from typing import NoReturn  # noqa: E402

from wavenet_harness.base.errors import UsageError, UserError, exit_with_error  # noqa: E402


@contextlib.contextmanager
def one_line_errors(prog: str) -> Iterator[None]:
    """Turn a user's mistake raised inside the block into one error line and exit code 2."""
    try:
        yield
    except UserError as err:
        exit_with_error(str(err), prog)


def version_line(prog: str) -> str:
    """What `<prog> --version` prints: the project's version (one source: wavenet_harness.__version__)."""
    from wavenet_harness import __version__

    return f"{prog} {__version__}"


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse that reports a mistake as one UsageError line instead of usage + message,
    and answers --version with the project's version."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_argument("--version", action="version", version=version_line(self.prog))

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")
