"""One Hydra session at a time, leaving the process as it was found.

The CLI composes conf/ once per process; a notebook calls the API many times, from any
thread. `hydra_session()` is where every API call meets Hydra: it takes the process-wide
turn (calls from two threads run one after the other, so each draws from torch's global
random generator alone, as its own CLI process would), sets aside any Hydra the caller
had initialised, initialises this package's conf/ as `wavenet-train` does (job name
"train", the same search path and plugins), and afterwards restores what it set aside:
Hydra's global state, torch's thread count, and torch's and Python's random generators
(a run seeds them itself; the caller's draws after it are as if it never ran).
`composition_errors()` turns Hydra's composition mistakes into the CLI's one-line ConfigError;
`user_errors_in_one_line` makes a public function raise a UserError without the frames that
found it (a notebook shows the call and the line, not the machinery).
"""

from __future__ import annotations

import contextlib
import functools
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import torch
from hydra._internal.hydra import Hydra  # what GlobalHydra holds; hydra-core is pinned below 1.4
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException
from hydra.initialize import initialize_config_dir
from omegaconf.errors import OmegaConfBaseException

from wavenet_harness.adapter.config import config_dir, register_plugins
from wavenet_harness.adapter.schema import explain_config_error
from wavenet_harness.base.errors import ConfigError, UserError

TASK_NAME = "train"  # hydra.job.name: what wavenet-train's module is called
CONFIG_NAME = "train"
_TURN = threading.Lock()


@contextlib.contextmanager
def hydra_session() -> Iterator[Hydra]:
    """This package's Hydra for one call (what `wavenet-train` runs: .run, .multirun,
    .compose_config), in the process's turn."""
    with _TURN, process_state_kept():
        register_plugins()
        saved = _set_aside_global_hydra()
        try:
            with initialize_config_dir(config_dir(), version_base="1.3", job_name=TASK_NAME):
                hydra = GlobalHydra.instance().hydra
                assert hydra is not None  # initialize_config_dir has just set it
                yield hydra
        finally:
            _restore_global_hydra(saved)


def _set_aside_global_hydra() -> Hydra | None:
    """The caller's initialised Hydra, if any, taken out of the way."""
    instance = GlobalHydra.instance()
    saved = instance.hydra if instance.is_initialized() else None
    instance.clear()
    return saved


def _restore_global_hydra(saved: Hydra | None) -> None:
    instance = GlobalHydra.instance()
    instance.clear()
    if saved is not None:
        instance.initialize(saved)


@contextlib.contextmanager
def process_state_kept() -> Iterator[None]:
    """torch's thread count and the torch and Python random generators, as they were."""
    threads = torch.get_num_threads()
    torch_rng = torch.get_rng_state()
    python_rng = random.getstate()
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.set_rng_state(torch_rng)
        random.setstate(python_rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)


@contextlib.contextmanager
def composition_errors(overrides: Sequence[str]) -> Iterator[None]:
    """A mistake Hydra or OmegaConf finds while composing, as the CLI's one line (ConfigError)."""
    try:
        yield
    except (HydraException, OmegaConfBaseException, ValueError) as err:
        if isinstance(err, UserError):
            raise
        message = explain_config_error(err, list(overrides))
        if message is None:
            raise
        raise ConfigError(message) from None


Function = TypeVar("Function", bound=Callable[..., Any])


def user_errors_in_one_line(function: Function) -> Function:
    """`function`, raising its UserError from the caller's line: no inner frames, no chained context."""

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # IPython hides this frame too
        try:
            return function(*args, **kwargs)
        except UserError as err:
            raise err.with_traceback(None) from None

    return call  # type: ignore[return-value]
