"""The `device` option: its rule (a known name, present on this machine) and what it resolves to.

It knows nothing of models, data or files.
"""

from __future__ import annotations

import torch

from wavenet_harness.errors import ConfigError, one_of

DEVICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def check_device(name: str) -> None:
    """device=...: one of DEVICES, and an explicit accelerator must be present here."""
    one_of("device", name, DEVICES)
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda is not allowed: no CUDA device is present here (use device=auto or cpu)")
    if name == "mps" and not _mps_available():
        raise ConfigError("device=mps is not allowed: no Apple MPS device is present here (use device=auto or cpu)")


def resolve_device(name: str) -> torch.device:
    check_device(name)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(name)
