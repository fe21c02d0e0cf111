"""Stop signals as a flag: a run stops between steps, saves, then hands the signal on.

Ctrl-C, SIGTERM, SIGUSR1 and SIGUSR2 set a flag the training loop checks between steps
(and evaluation and sampling between chunks: base/interrupts.py), so no step is left
half done and the run can save a checkpoint before it stops; afterwards `pass_on_signal`
lets whoever handled the signal before (submitit's requeue on SIGUSR2) act on it.

Signal handlers can only be set in the main thread; a loop run in another thread (a
notebook's background thread) is stopped by `request_stop()` instead, which sets the flag
of every loop running in this process as Ctrl-C would.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any

from wavenet_harness.base import interrupts

# Ctrl-C; what `kill` and SLURM send on preemption and at the time limit; what SLURM can
# send ahead of the limit (--signal); submitit's own preemption signal.
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGUSR1", "SIGUSR2") if hasattr(signal, name)
)


class StopRequest:
    """Which stop signal arrived (None: none yet), and the handlers it replaced."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.previous: dict[int, Any] = {}

    def is_set(self) -> bool:
        return self.signum is not None

    def set(self, signum: int, frame: Any = None) -> None:
        if self.signum is None:
            self.signum = signum

    @property
    def name(self) -> str:
        assert self.signum is not None  # named once a signal has come
        return "Ctrl-C" if self.signum == signal.SIGINT else signal.Signals(self.signum).name


# The flags of the loops running in this process (request_stop sets them).
_RUNNING: set[StopRequest] = set()
_RUNNING_LOCK = threading.Lock()


@contextlib.contextmanager
def stop_signals_as_flag():
    """Turn Ctrl-C, SIGTERM, SIGUSR1 and SIGUSR2 into a flag checked between steps (and
    between chunks of an evaluation or of sampling: interrupts.check), so no step is left
    half done and the run can save a checkpoint before it stops. Outside the main thread
    no handler can be set: there only `request_stop()` sets the flag."""
    requested = StopRequest()
    with _RUNNING_LOCK:
        _RUNNING.add(requested)
    try:
        if threading.current_thread() is not threading.main_thread():
            yield requested
            return
        for signum in STOP_SIGNALS:
            requested.previous[signum] = signal.signal(signum, requested.set)
        interrupts.watch(requested.is_set)  # evaluation and sampling check it too
        try:
            yield requested
        finally:
            interrupts.watch(None)
            for signum, handler in requested.previous.items():
                signal.signal(signum, handler)
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(requested)


def request_stop() -> int:
    """Stop every training loop running in this process, in any thread, as Ctrl-C does:
    each finishes its step, saves a checkpoint and ends as "interrupted". Returns how many
    loops were asked."""
    with _RUNNING_LOCK:
        for requested in _RUNNING:
            requested.set(signal.SIGINT)
        return len(_RUNNING)


def pass_on_signal(request: StopRequest | None) -> None:
    """After a run stopped on a signal and saved itself, let whoever handled that signal
    before it (submitit's requeue on SIGUSR2, for one) act on it. Ctrl-C and signals
    nobody else handled end here."""
    if request is None or request.signum is None or request.signum == signal.SIGINT:
        return
    handler = request.previous.get(request.signum)
    if callable(handler) and handler is not signal.default_int_handler:
        handler(request.signum, None)
