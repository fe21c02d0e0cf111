"""Sweeps that finish: threads per parallel job, failures as results, the end-of-sweep summary.

Three pieces, used by cli/train.py and conf/train.yaml:
  job_threads     a job's torch threads when it shares the machine with other jobs
                  (joblib), so that jobs x threads never exceeds the cores
  record_failure  a job of a multirun that raised is written to its metrics.json as
                  status "failed" with the error, and the sweep goes on
  SweepSummary    a Hydra callback: at the end of a multirun it reads every job's
                  metrics.json (so it works for jobs run in other processes or machines),
                  prints one screen of counts, the best job and the commands that show the
                  sweep (TensorBoard and wavenet-report; for an Optuna search also
                  optuna-dashboard and wavenet-study), and exits 1 only when every job failed

Job directories are read and written through tracking/rundir.py; this module knows
nothing of training itself.
"""

from __future__ import annotations

import math
import shlex
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from wavenet_harness.passwords import masked
from wavenet_harness.sweeps.study import is_trial_override
from wavenet_harness.passwords import masked
from wavenet_harness.tracking.rundir import (
    JOURNAL_NAME, STATUSES, read_metrics, read_overrides, sweep_job_dirs, write_metrics, write_traceback,
)


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


def job_threads(threads: Any, launcher: Any, cores: int | None = None) -> Any:
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


def record_failure(run_dir: Path, err: BaseException, user_error: bool) -> dict[str, Any]:
    """Write a job's failure into its metrics.json (keeping what the run already wrote)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    metrics = read_metrics(run_dir)
    metrics.update(
        status="failed",
        error=str(err) if user_error else f"{type(err).__name__}: {err}",
        finished_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    write_metrics(run_dir, metrics)
    if not user_error:  # a bug, not a typo: keep the whole story beside the result
        write_traceback(run_dir, "".join(traceback.format_exception(err)))
    print(masked(f"wavenet-train: job {run_dir} failed: {metrics['error']}"), file=sys.stderr)
    return metrics


@dataclass
class JobOutcome:
    run_dir: Path
    status: str
    val_loss: float | None
    error: str | None
    overrides: list[str]


def _job_overrides(run_dir: Path) -> list[str]:
    """The overrides that tell jobs apart (not the sweeper's own bookkeeping)."""
    return [o for o in read_overrides(run_dir) if not (is_trial_override(o) or o.startswith("hydra.sweep.subdir="))]


def collect_jobs(sweep_dir: Path) -> list[JobOutcome]:
    """Every job directory of a sweep (it has .hydra/ or metrics.json), in job order."""
    jobs = []
    for run_dir in sweep_job_dirs(sweep_dir):
        metrics = read_metrics(run_dir)
        if metrics.get("status") == "unreadable":
            metrics = {"status": "failed", "error": "unreadable metrics.json"}
        val = metrics.get("val_loss")
        jobs.append(
            JobOutcome(
                run_dir=run_dir,
                status=metrics.get("status", "missing"),
                val_loss=float(val) if isinstance(val, (int, float)) and math.isfinite(val) else None,
                error=metrics.get("error"),
                overrides=_job_overrides(run_dir),
            )
        )
    return jobs


def count_statuses(jobs: list[JobOutcome]) -> dict[str, int]:
    counts = {status: 0 for status in STATUSES}
    for job in jobs:
        counts[job.status] = counts.get(job.status, 0) + 1
    return counts


def every_job_failed(jobs: list[JobOutcome]) -> bool:
    """The one case a sweep exits non-zero: nothing ran to a result (ok, diverged, pruned...)."""
    return bool(jobs) and all(job.status in ("failed", "missing") for job in jobs)


def format_summary(jobs: list[JobOutcome], sweep_dir: Path, study_storage: str | None = None) -> str:
    """The sweep's last screen. `study_storage`: an Optuna search's storage (journal path or
    database URL, password masked), so the screen names the search's own views too."""
    counts = count_statuses(jobs)
    shown = [f"{counts[s]} {s}" for s in STATUSES if counts[s] or s in ("ok", "failed", "diverged", "pruned")]
    lines = [f"sweep: {len(jobs)} jobs: " + ", ".join(shown), f"sweep dir: {sweep_dir}"]
    finished = [job for job in jobs if job.status == "ok" and job.val_loss is not None]
    if finished:
        best = min(finished, key=lambda job: job.val_loss)
        # What sets the best job apart: the overrides not shared by every job.
        shared = set.intersection(*(set(job.overrides) for job in jobs)) if len(jobs) > 1 else set()
        own = " ".join(o for o in best.overrides if o not in shared)
        lines.append(f"best val loss: {best.val_loss:.4f}  {best.run_dir}  {own}".rstrip())
    problems = [job for job in jobs if job.status not in ("ok", "pruned")]
    for job in problems[:8]:  # one screen: the first few, the rest are in their metrics.json
        lines.append(f"  {job.status:<9} {job.run_dir.name}: {job.error or ''}".rstrip())
    if len(problems) > 8:
        lines.append(f"  ... and {len(problems) - 8} more (see */metrics.json)")
    return "\n".join(lines + look_commands(sweep_dir, study_storage))


def look_commands(sweep_dir: Path, study_storage: str | None = None) -> list[str]:
    """Ready-to-paste commands for each way to look at the sweep, with what each shows."""
    folder = shlex.quote(str(sweep_dir))
    views = [(f"tensorboard --logdir {folder}",
              "curves, loss/val_best; HParams: val loss first")]
    if study_storage:
        views.append((f"optuna-dashboard {shlex.quote(study_storage)}",
                      "the search: history, pruning, importances"))
        views.append((f"wavenet-study {folder}" if study_storage.endswith(JOURNAL_NAME)
                      else f"wavenet-study --storage {shlex.quote(study_storage)}",
                      "best trials and importances, in the terminal"))
    else:
        views.append((f"wavenet-report {folder}", "one table, best val loss first"))
    width = max(len(command) for command, _ in views)
    return ["look at it:", *(f"  {command:<{width}}  # {what}" for command, what in views)]


class SweepSummary(Callback):
    """Hydra callback (conf/train.yaml hydra.callbacks): the sweep's last words and exit code."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        jobs = collect_jobs(sweep_dir)
        print(format_summary(jobs, sweep_dir, _study_storage(config, sweep_dir)), flush=True)
        if every_job_failed(jobs):
            print("wavenet-train: error: every job of the sweep failed (see the errors above)", file=sys.stderr)
            sys.exit(1)  # SystemExit passes through Hydra's callback guard on purpose


def _study_storage(config: DictConfig, sweep_dir: Path) -> str | None:
    """An Optuna search's storage as a person would type it: the journal in the sweep folder,
    or the database URL without its password; None for a grid sweep."""
    sweeper = config.hydra.get("sweeper") or {}
    if "optuna" not in str(sweeper.get("_target_", "")).lower():
        return None
    storage = sweeper.get("storage")
    return masked(str(storage)) if storage else str(sweep_dir / JOURNAL_NAME)
