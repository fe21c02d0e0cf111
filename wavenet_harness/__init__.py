"""wavenet-harness: run and tune the models of makemore part 5 (building a WaveNet).

From Python (docs/notebook.md):

    import wavenet_harness as wh
    run = wh.train("model=hier", n_hidden=128, max_steps=2000)
    run.val_loss, run.plot(), run.sample(5)

Importing the package is light: the API (wavenet_harness/api/, which imports torch and
Hydra) is loaded the first time one of its names is used; the error classes come from
base/errors.py without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_ERRORS = (
    "UserError",
    "ConfigError",
    "DataError",
    "CheckpointError",
    "RunDirError",
    "RunDirTaken",
    "RunDirFull",
    "UsageError",
    "ExtraMissing",
)
_API = ("train", "sweep", "stop", "load_run", "load_runs", "Run", "Sweep", "Interrupted")
__all__ = [*_API, *_ERRORS, "__version__"]

if TYPE_CHECKING:  # for type checkers and editors; at run time __getattr__ loads them
    from wavenet_harness.api import Interrupted, Run, Sweep, load_run, load_runs, stop, sweep, train  # noqa: F401
    from wavenet_harness.base.errors import (  # noqa: F401
        CheckpointError,
        ConfigError,
        DataError,
        ExtraMissing,
        RunDirError,
        RunDirFull,
        RunDirTaken,
        UsageError,
        UserError,
    )


def __getattr__(name: str) -> Any:
    """The API's names, imported on first use (PEP 562)."""
    if name in _ERRORS:
        from wavenet_harness.base import errors

        return getattr(errors, name)
    if name in _API:
        import random

        state = random.getstate()  # a library imported with the API draws from it (rich.table does)
        from wavenet_harness import api

        random.setstate(state)
        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
