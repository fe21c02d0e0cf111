"""Where a job runs: the `device` option (its rule, what it resolves to) and its torch threads.

Every decision on threads is here: the `threads` key, or with threads=0 a count that
suits the step's size (torch_threads, auto_threads), and a sweep job's share of the cores
(sweep_job_threads). It knows nothing of models, data or files.
"""

from __future__ import annotations

from typing import Any

import torch

from wavenet_harness.base.errors import ConfigError, one_of

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


def torch_threads(threads: int, device: torch.device, params: int, rows_per_step: int) -> int:
    """The `threads` key, or with threads=0: torch's default off the CPU, else auto_threads."""
    if threads:
        return threads
    if device.type != "cpu":
        return TORCH_DEFAULT_THREADS
    return auto_threads(params, rows_per_step)


def available_cores() -> int:
    """Cores this process may use, as joblib counts them (CPU affinity and cgroup quotas)."""
    from joblib import cpu_count

    return max(1, cpu_count())


def _joblib_parallelism(n_jobs: Any, cores: int) -> int:
    """joblib's meaning of n_jobs: -1 all cores, -2 all but one, ..., None one."""
    if n_jobs is None or n_jobs == 0:
        return 1
    n_jobs = int(n_jobs)
    return max(1, cores + 1 + n_jobs) if n_jobs < 0 else n_jobs


def sweep_job_threads(threads: Any, launcher: Any, cores: int | None = None) -> Any:
    """torch intra-op threads for one job of a sweep.

    An explicit `threads` (not 0) is kept. With threads=0 (torch's default: every core)
    a joblib job takes cores // parallel jobs (at least 1), because N jobs that each use
    every core are slower together than one after another; a submitit job takes the
    cpus_per_task it was given. Other launchers run one job at a time: torch's default.
    """
    if threads != 0 or launcher is None:
        return threads
    target = str(launcher.get("_target_", ""))
    cores = cores or available_cores()
    if "JoblibLauncher" in target:
        parallel = _joblib_parallelism(launcher.get("n_jobs"), cores)
        return max(1, cores // parallel)
    if "submitit" in target.lower() and launcher.get("cpus_per_task"):
        return int(launcher.get("cpus_per_task"))
    return threads
