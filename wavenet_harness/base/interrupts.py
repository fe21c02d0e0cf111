"""The stop flag that long computations inside a step check: evaluation and sampling.

The training loop turns stop signals (Ctrl-C, SIGTERM, ...) into a flag checked between
steps (training/loop.py). An evaluation of a big model on a whole split, or sampling
thousands of names for TensorBoard, can take minutes without a step boundary; they call
`check()` between chunks, which raises Interrupted once a stop was asked for, and the loop
then saves its checkpoint and ends the run as "interrupted" within seconds.

Outside a training loop no flag is watched and `check()` does nothing (Ctrl-C raises
KeyboardInterrupt as usual). This module imports nothing.
"""

from __future__ import annotations

from collections.abc import Callable

_is_set: Callable[[], bool] | None = None


class Interrupted(Exception):
    """A stop signal arrived in the middle of an evaluation or of sampling."""


def watch(is_set: Callable[[], bool] | None) -> None:
    """Make `check()` follow this flag (None: follow none)."""
    global _is_set
    _is_set = is_set


def check() -> None:
    """Raise Interrupted if a stop signal has arrived since the flag was set up."""
    if _is_set is not None and _is_set():
        raise Interrupted()
