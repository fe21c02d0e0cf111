"""The `device` option: its rule (a known name, present on this machine) and what it resolves to.

It also picks the CPU thread count when `threads=0` (auto_threads). It knows nothing of
models, data or files.
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


# torch's own default (every core), read at import, before any job changes it.
TORCH_DEFAULT_THREADS = torch.get_num_threads()
# threads=0 on CPU: below this much work per step (parameters x rows of the batch) a
# step is a few MFLOP of small ops, and a second thread only adds synchronisation:
# the lecture's WaveNet at batch 32 (2.4M) ran 604 steps/s on 1 thread and 438 on 2 on a
# quiet 2-core machine. Above it the matmuls are big enough to share.
SINGLE_THREAD_WORK = 25_000_000


def auto_threads(params: int, rows_per_step: int) -> int:
    """threads=0 on CPU: one thread for small steps (the lecture's sizes), torch's default otherwise."""
    if params * rows_per_step < SINGLE_THREAD_WORK:
        return 1
    return TORCH_DEFAULT_THREADS
