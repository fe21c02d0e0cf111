"""Sweeps that finish: threads per parallel job, failures as results, the end-of-sweep summary.

Two pieces, used by cli/train.py and conf/train.yaml (a job's threads when it shares the
machine with other jobs: training/device.py, sweep_job_threads):
  record_failure  a job of a multirun that raised is written to its metrics.json as
                  status "failed" with the error, and the sweep goes on
  format_summary  the end-of-sweep screen from every job's record (so it works for jobs run
                  in other processes or machines): counts, the best job and the commands
                  that show the sweep (TensorBoard and wavenet-report; for an Optuna search
                  also optuna-dashboard, saying when it needs the [dashboard] extra, and
                  wavenet-study) and TensorBoard's address with the val loss pinned;
                  adapter/callbacks.py's SweepSummary prints it and exits 1 only when
                  every job failed. Every line fits 100 columns (`fit`): long ones
                  wrap at spaces, never inside a value

Job records are read and written through base/records.py; this module knows
nothing of training itself.
"""

from __future__ import annotations

import math
import shlex
import sys
import textwrap
import traceback
from pathlib import Path

from wavenet_harness.base.extras import has_extra, install_command
from wavenet_harness.base.metrics import pinned_url
from wavenet_harness.base.passwords import masked
from wavenet_harness.base.records import JOURNAL_NAME, STATUSES, RunRecord, load_runs, mark_ended
from wavenet_harness.sweeps.study import is_trial_override
from wavenet_harness.tracking.rundir import write_traceback

SCREEN_WIDTH = 100  # every closing line fits a terminal this wide


def fit(text: str, indent: str = "    ", width: int = SCREEN_WIDTH) -> str:
    """One line of a closing screen, wrapped at spaces into lines of at most `width` (the
    ones after the first indented); a word longer than a line stays whole."""
    return textwrap.fill(text, width=width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)


def record_failure(run_dir: Path, err: BaseException, user_error: bool) -> RunRecord:
    """Write a job's failure into its record (keeping what the run already wrote)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    record = mark_ended(run_dir, "failed", str(err) if user_error else f"{type(err).__name__}: {err}")
    if not user_error:  # a bug, not a typo: keep the whole story beside the result
        write_traceback(run_dir, "".join(traceback.format_exception(err)))
    print(masked(f"wavenet-train: job {run_dir} failed: {record.error}"), file=sys.stderr)
    return record


def job_overrides(record: RunRecord) -> list[str]:
    """The overrides that tell jobs apart (not the sweeper's own bookkeeping)."""
    return [o for o in record.overrides if not (is_trial_override(o) or o.startswith("hydra.sweep.subdir="))]


def collect_jobs(sweep_dir: Path) -> list[RunRecord]:
    """The record of every job directory of a sweep (it has .hydra/ or metrics.json), in job order."""
    jobs = load_runs(sweep_dir, jobs_of_sweep=True)
    for job in jobs:
        if job.status == "unreadable":
            job.status, job.error = "failed", "unreadable metrics.json"
    return jobs


def count_statuses(jobs: list[RunRecord]) -> dict[str, int]:
    counts = {status: 0 for status in STATUSES}
    for job in jobs:
        counts[job.status] = counts.get(job.status, 0) + 1
    return counts


def every_job_failed(jobs: list[RunRecord]) -> bool:
    """The one case a sweep exits non-zero: nothing ran to a result (ok, diverged, pruned...)."""
    return bool(jobs) and all(job.status in ("failed", "missing") for job in jobs)


def format_summary(jobs: list[RunRecord], sweep_dir: Path, study_storage: str | None = None) -> str:
    """The sweep's last screen. `study_storage`: an Optuna search's storage (journal path or
    database URL, password masked), so the screen names the search's own views too."""
    counts = count_statuses(jobs)
    shown = [f"{counts[s]} {s}" for s in STATUSES if counts[s] or s in ("ok", "failed", "diverged", "pruned")]
    lines = [f"sweep: {len(jobs)} jobs: " + ", ".join(shown), f"sweep dir: {sweep_dir}"]
    finished = [job for job in jobs if job.status == "ok" and job.finite_val_loss is not None]
    if finished:
        best = min(finished, key=lambda job: math.inf if job.finite_val_loss is None else job.finite_val_loss)
        # What sets the best job apart: the overrides not shared by every job.
        overrides = {id(job): job_overrides(job) for job in jobs}
        shared = set.intersection(*(set(o) for o in overrides.values())) if len(jobs) > 1 else set()
        own = " ".join(o for o in overrides[id(best)] if o not in shared)
        lines.append(fit(f"best val loss: {best.finite_val_loss:.4f}  {best.run_dir}  {own}".rstrip(), "  "))
    problems = [job for job in jobs if job.status not in ("ok", "pruned")]
    for job in problems[:8]:  # one screen: the first few, the rest are in their metrics.json
        lines.append(fit(f"  {job.status:<9} {job.run_dir.name}: {job.error or ''}".rstrip(), " " * 14))
    if len(problems) > 8:
        lines.append(f"  ... and {len(problems) - 8} more (see */metrics.json)")
    return "\n".join(lines + look_commands(sweep_dir, study_storage))


def look_commands(sweep_dir: Path, study_storage: str | None = None) -> list[str]:
    """Ready-to-paste commands for each way to look at the sweep, with what each shows: on the
    command's line where that fits 100 columns, else on a line of its own above it; after
    TensorBoard's, its address with the val loss pinned."""
    folder = shlex.quote(str(sweep_dir))
    views = [(f"tensorboard --logdir {folder}", "val loss first; HParams, status")]
    if study_storage:
        needs = "" if has_extra("dashboard") else f" (needs the [dashboard] extra: {install_command('dashboard')})"
        views.append((f"optuna-dashboard {shlex.quote(study_storage)}", f"history, pruning, importances{needs}"))
        views.append(
            (
                f"wavenet-study {folder}"
                if study_storage.endswith(JOURNAL_NAME)
                else f"wavenet-study --storage {shlex.quote(study_storage)}",
                "best trials and importances",
            )
        )
    else:
        views.append((f"wavenet-report {folder}", "one table, best val loss first"))
    width = max(len(command) for command, _ in views)
    if all(len(f"  {command:<{width}}  # {what}") <= SCREEN_WIDTH for command, what in views):
        lines = ["look at it:", *(f"  {command:<{width}}  # {what}" for command, what in views)]
    else:
        lines = ["look at it:"]
        for command, what in views:
            lines += [fit(f"  # {what}", "  # "), f"  {command}"]
    after = next(i for i, line in enumerate(lines) if line.startswith("  tensorboard ")) + 1
    return [*lines[:after], f"  # open {pinned_url()}", *lines[after:]]  # 99 columns: val loss pinned
