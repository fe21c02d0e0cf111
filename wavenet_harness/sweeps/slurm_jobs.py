"""Following a sweep's SLURM jobs to their end, without SLURM accounting, and without secrets.

Three pieces, used by the SLURM launcher (hydra_plugins/wavenet_slurm_launcher/_launcher.py):
  password_kept_from_sbatch  the environment sbatch sees: without PGPASSWORD, since sbatch hands its
                    whole environment to slurmctld, which stores it on disk with the job
                    (StateSaveLocation/hash.N/job.J/environment). Jobs reach the study
                    database through ~/.pgpass (or PGPASSFILE) instead.
  check_password_reachable  a sweep whose study database needs a password that only PGPASSWORD
                    holds would fail every trial on the compute nodes: refused up front.
  wait_for_jobs     submitit learns that a job ended from its result file, or else from
                    `sacct`, which needs accounting (slurmdbd). Without it, a job that
                    ended with no result (cancelled, killed for memory, node failure) would
                    be waited for forever. Here `squeue`, which needs no accounting, says
                    when a job has left the queue; such a job becomes a failed result.

It knows submitit's Job (result file, paths) and SLURM's client commands, nothing of
Hydra or of training.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

# squeue states after which a job will not run again (a requeued job passes through
# PENDING, REQUEUED or REQUEUE_HOLD instead, and comes back).
ENDED = {
    "COMPLETED",
    "CANCELLED",
    "FAILED",
    "TIMEOUT",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "BOOT_FAIL",
    "DEADLINE",
    "PREEMPTED",
    "SPECIAL_EXIT",
    "REVOKED",
}
# Pending reasons that mean the job will not start as it asked (or not without someone's
# help): the sweep says so once instead of waiting in silence.
STUCK = {
    "PartitionConfig",
    "PartitionTimeLimit",
    "PartitionNodeLimit",
    "BadConstraints",
    "InvalidAccount",
    "InvalidQOS",
    "JobHeldAdmin",
    "JobHeldUser",
    "DependencyNeverSatisfied",
    "ReqNodeNotAvail",
}
SQUEUE_EVERY_S = 10.0  # how often the queue is asked; result files are looked for every second
RESULT_GRACE_S = 20.0  # a job that left the queue may still be writing its result (shared file systems lag)
PASSWORD_ENV = "PGPASSWORD"


@contextlib.contextmanager
def password_kept_from_sbatch(environ: MutableMapping[str, str] | None = None) -> Iterator[None]:
    """While submitting: the process environment (which submitit's sbatch call inherits)
    without PGPASSWORD; put back afterwards, for the sweep's own connections."""
    environ = os.environ if environ is None else environ
    saved = environ.pop(PASSWORD_ENV, None)
    try:
        yield
    finally:
        if saved is not None:
            environ[PASSWORD_ENV] = saved


def passfile(environ: Mapping[str, str] | None = None) -> Path:
    """The file libpq reads passwords from: PGPASSFILE, else ~/.pgpass."""
    env = os.environ if environ is None else environ
    return Path(env.get("PGPASSFILE") or Path.home() / ".pgpass").expanduser()


def check_password_reachable(storage: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """None when the jobs can reach the study database as the sweep does; else why not, in one line."""
    env = os.environ if environ is None else environ
    if not storage or not str(storage).startswith("postgres") or not env.get(PASSWORD_ENV):
        return None
    if passfile(env).is_file():
        return None
    return (
        f"hydra/launcher=slurm: the study database's password is only in {PASSWORD_ENV}, which is not handed "
        f"to SLURM (slurmctld would store it with every job); put it in {passfile(env)} "
        "(host:port:database:user:password, chmod 600), which the jobs read on the compute nodes"
    )


def queue_states(job_ids: Sequence[str], environ: dict[str, str] | None = None) -> dict[str, tuple[str, str]] | None:
    """squeue's (state, reason) of each job (array tasks as J_T), or None when squeue cannot answer now."""
    masters = sorted({str(j).split("_")[0] for j in job_ids})
    try:
        done = subprocess.run(
            ["squeue", "--noheader", "--array", "--states=all", f"--jobs={','.join(masters)}", "--format=%i|%T|%r"],
            env=environ,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        # Jobs that left slurmctld's memory (MinJobAge) make squeue fail with "Invalid job id".
        return {} if "Invalid job id" in done.stderr else None
    states = {}
    for line in done.stdout.splitlines():
        job_id, state, reason = (line.strip().split("|") + ["", ""])[:3]
        states[job_id] = (state, reason)
    return states


class EndedWithoutResult(RuntimeError):
    """A SLURM job left the queue without writing its result."""


def wait_for_jobs(
    jobs: Sequence[Any],
    states: Callable[[Sequence[str]], dict[str, tuple[str, str]] | None] = queue_states,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    say: Callable[[str], None] = lambda line: print(line, flush=True),
) -> list[Any]:
    """Wait until each submitit job has a result or has left the queue without one.

    Returns, in order, each job's result, or an EndedWithoutResult saying how it ended
    and where its log is. A job pending for a reason in STUCK is named once through `say`.
    Never calls sacct (submitit's own fallback).
    """
    outcome: dict[int, Any] = {}
    told: set[tuple[int, str]] = set()
    gone_since: dict[int, float] = {}
    last_asked = -SQUEUE_EVERY_S
    while len(outcome) < len(jobs):
        waiting = [i for i in range(len(jobs)) if i not in outcome]
        for i in waiting:
            if jobs[i].paths.result_pickle.exists():
                outcome[i] = jobs[i]
        waiting = [i for i in waiting if i not in outcome]
        if waiting and clock() - last_asked >= SQUEUE_EVERY_S:
            last_asked = clock()
            known = states([jobs[i].job_id for i in waiting])
            polled: dict[str, tuple[str, str]] = known if known is not None else {}
            for i in waiting if known is not None else []:  # squeue did not answer: ask again later
                state, reason = polled.get(str(jobs[i].job_id), ("", ""))
                if state and state not in ENDED:
                    gone_since.pop(i, None)  # queued, running or requeued: still coming
                    if state == "PENDING" and reason in STUCK and (i, reason) not in told:
                        told.add((i, reason))
                        say(
                            f"SLURM job {jobs[i].job_id} is pending with reason {reason}: it may never start as it "
                            f"asked (squeue and scontrol show job {jobs[i].job_id} say more; scancel "
                            f"{jobs[i].job_id} ends it, and the sweep counts it failed)"
                        )
                    continue
                gone_since.setdefault(i, clock())
                if clock() - gone_since[i] >= RESULT_GRACE_S:
                    outcome[i] = EndedWithoutResult(
                        f"SLURM job {jobs[i].job_id} ended {state or 'and left the queue'} without a result; "
                        f"its log: {jobs[i].paths.stderr}"
                    )
        if len(outcome) < len(jobs):
            sleep(1.0)
    return [outcome[i] for i in range(len(jobs))]
