"""The report behind `wavenet-report SWEEP_DIR`: every run under a folder, best val loss first.

A run is any folder under SWEEP_DIR holding metrics.json (or a Hydra job folder, .hydra/,
whose metrics.json is not written yet). For each it keeps the command-line overrides
that distinguish it from the other runs (from .hydra/overrides.yaml: only the keys whose
values differ; never the sweeper's own `optuna.*` links or `hydra.*` settings), the sweep
folder it belongs to, the model it trains, status, steps, seconds, params, train and val
loss, then the command that reruns the best run as one plain `wavenet-train` run.
Runs of different models rank side by side. Finished runs come first by val loss;
running, then stopped or failed runs follow. It only reads, so it is safe to run while a
sweep is still going: a running job shows the step it has reached out of max_steps and
its last val loss (its metrics.json is rewritten at every evaluation and checkpoint); a
pruned one its last val loss too.

    wavenet-report runs/multirun/2026-11-28/10-00-00
    wavenet-report runs/ --all                          # every column: seconds, params, the model
    wavenet-report runs/ --csv report.csv --json -      # the same table for other tools

The terminal table is tracking/report_table.py's, the HTML page tracking/report_html.py's;
the CSV and JSON (here) always hold every column. Runs are read through base/records.py
(load_runs); the command line is cli/report.py.
"""

from __future__ import annotations

import csv
import io
import math
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from wavenet_harness.base import files
from wavenet_harness.base.errors import RunDirError
from wavenet_harness.base.records import (
    JOURNAL_NAME,
    METRICS_NAME,
    SWEEP_CONFIG_NAME,
    RunRecord,
    load_runs,
    read_starts,
)
from wavenet_harness.base.run_config import TRIAL_FIELD

NUMBER_COLUMNS = ("steps", "max_steps", "seconds", "params", "train_loss", "val_loss")
MISSING = "-"  # an override a run did not set
# Keys a sweep sets for its own bookkeeping, never a column: the link of a job to its Optuna
# trial (++optuna.storage=..., older runs +optuna.*) and Hydra's own settings.
INTERNAL_PREFIXES = (f"{TRIAL_FIELD}.", "hydra.")
# Turns a run's overrides into a plain single run's (cli/report.py passes the adapter's,
# which spells out a search preset): None leaves them as they are.
SingleRun = Callable[[list[str]], list[str]]


def is_internal(override: str) -> bool:
    """A sweep's bookkeeping (`++optuna.trial=3`, `hydra.sweep.subdir=3`), not a hyperparameter."""
    return override.lstrip("+~").startswith(INTERNAL_PREFIXES)


@dataclass
class Job:
    name: str  # the run folder relative to the report's folder
    record: RunRecord
    sweep: str = ""  # its sweep folder relative to the report's folder ("." itself; "" none)

    @property
    def run_dir(self) -> Path:
        return self.record.run_dir

    @property
    def overrides(self) -> list[str]:
        return self.record.overrides

    @property
    def status(self) -> str:
        return "no metrics" if self.record.status == "missing" else str(self.record.status)

    @property
    def model(self) -> str:
        """The model it trains: from metrics.json, or its `model=` override before that exists."""
        return str(self.record.model or self.override_values().get("model") or MISSING)

    @cached_property
    def val_loss(self) -> float | None:
        """Its val loss; a pruned run's last one (runs from before metrics.json kept it: from tb/)."""
        value = self.record.finite_val_loss
        if value is None and self.record.status == "pruned":
            from wavenet_harness.tracking.curves import last_val_loss

            value = last_val_loss(self.run_dir)
        return value

    def override_values(self) -> dict[str, str]:
        """{'n_hidden': '128', 'model': 'mlp', ...} from 'key=value' overrides, bookkeeping left out."""
        values = {}
        for item in self.overrides:
            key, sep, value = item.partition("=")
            if is_internal(key):
                continue
            # a sweep's jobs record booleans as Python writes them (False), a single run as
            # typed (false): one spelling, so that the same value never looks like two
            values[key.lstrip("+~")] = value.lower() if value in ("True", "False") else value
        return values


def _natural_key(text: str) -> list:
    """'multirun/.../10' after '.../9': numbers compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def sweep_of(run_dir: Path, root: Path) -> str:
    """The sweep folder a run belongs to (the nearest folder above it, up to `root`, holding
    a sweep's multirun.yaml or a search's journal), relative to root; "" for none."""
    for folder in run_dir.parents:
        if folder != root and root not in folder.parents:
            break
        if (folder / SWEEP_CONFIG_NAME).is_file() or (folder / JOURNAL_NAME).is_file():
            return folder.relative_to(root).as_posix()
    return ""


def find_jobs(root: Path) -> list[Job]:
    """Every run folder under `root` (root itself included), read without changing anything."""
    return [
        Job(
            record.run_dir.relative_to(root).as_posix() if record.run_dir != root else ".",
            record,
            sweep_of(record.run_dir, root),
        )
        for record in load_runs(root)
    ]


def distinguishing_keys(jobs: list[Job]) -> list[str]:
    """Override keys whose value is not the same in every job (unset counts as a value);
    `model` and the metrics' own columns (max_steps) are shown from metrics.json instead."""
    values = [job.override_values() for job in jobs]
    keys = []
    for key in dict.fromkeys(k for v in values for k in v):  # first-seen order
        if key != "model" and key not in NUMBER_COLUMNS and len({v.get(key) for v in values}) > 1:
            keys.append(key)
    return keys


def rank(jobs: list[Job]) -> list[Job]:
    """Finished runs by val loss (best first), then running ones, then everything else."""

    def key(job: Job):
        if job.status == "ok" and job.val_loss is not None:
            return (0, job.val_loss, _natural_key(job.name))
        return (1 if job.status == "running" else 2, math.inf, _natural_key(job.name))

    return sorted(jobs, key=key)


def best_job(ranked: list[Job]) -> Job | None:
    first = ranked[0] if ranked else None
    return first if first is not None and first.status == "ok" and first.val_loss is not None else None


RERUN_DIR = "runs/rerun"  # where a chained rerun (below) trains: a resume needs the folder named


def _fresh_start(overrides: list[str], single_run: SingleRun | None = None) -> list[str]:
    """A start's overrides without what tied it to its own folder (resume=true, hydra.run.dir)
    or to its sweep (the trial link), as a plain single run's."""
    kept = [o for o in overrides if not (o.startswith(("resume=true", "resume=True")) or is_internal(o))]
    return single_run(kept) if single_run else kept


def rerun_command(job: Job, single_run: SingleRun | None = None) -> str:
    """The command that trains the run again as one plain run, from its first start's
    overrides (starts.json); `single_run` spells out what only a sweep may choose.

    A run a resume extended (another max_steps; a schedule that depends on max_steps then
    differs from a run trained at the final length in one go) is rerun as the same chain:
    the first start, then a resume at each new max_steps. Plain resumes after a stop need
    no part in it: a resume continues bit for bit.
    """
    starts = read_starts(job.run_dir)
    if not starts:  # runs from before starts.json: the overrides Hydra saved
        return shlex.join(["wavenet-train", *_fresh_start(job.overrides, single_run)])
    stages: list[dict[str, Any]] = []
    for start in starts:
        if not stages or start.get("max_steps") != stages[-1].get("max_steps"):
            stages.append(start)
    first = _fresh_start([str(o) for o in stages[0].get("overrides", [])], single_run)
    if len(stages) == 1:
        return shlex.join(["wavenet-train", *first])
    place = f"hydra.run.dir={RERUN_DIR}"
    commands = [shlex.join(["wavenet-train", *first, place])]
    for stage in stages[1:]:
        later = _fresh_start([str(o) for o in stage.get("overrides", [])], single_run)
        commands.append(shlex.join(["wavenet-train", *later, place, "resume=true"]))
    return " && ".join(commands)


def table_rows(ranked: list[Job], keys: list[str]) -> list[dict[str, Any]]:
    """One flat dict per job: job, model, each distinguishing key, status, the numbers and its sweep."""
    rows = []
    for job in ranked:
        overrides = job.override_values()
        row: dict[str, Any] = {"job": job.name, "model": job.model}
        row.update({key: overrides.get(key, MISSING) for key in keys})
        row["status"] = job.status
        for column in NUMBER_COLUMNS:
            row[column] = job.record.get(column) if job.record.number(column) is not None else None
        row["val_loss"] = job.val_loss if job.val_loss is not None else row["val_loss"]
        row["sweep"] = job.sweep
        rows.append(row)
    return rows


def build_report(root: Path, single_run: SingleRun | None = None) -> dict[str, Any]:
    jobs = find_jobs(root)
    if not jobs:
        raise RunDirError(f"no runs under {root} (no {METRICS_NAME} or .hydra/ found)")
    ranked = rank(jobs)
    keys = distinguishing_keys(ranked)
    best = best_job(ranked)
    return {
        "sweep_dir": str(root),
        "override_keys": keys,
        "jobs": table_rows(ranked, keys),
        "best": {"job": best.name, "val_loss": best.val_loss, "command": rerun_command(best, single_run)}
        if best
        else None,
    }


def short_names(keys: list[str]) -> list[str]:
    """Each dotted key by its last part (model.dropout -> dropout), unless two would then look alike."""
    tails = [key.rpartition(".")[2] for key in keys]
    return [tail if tails.count(tail) == 1 else key for key, tail in zip(keys, tails, strict=True)]


# ---------------------------------------------------------------- output


def csv_text(report: dict[str, Any]) -> str:
    columns = ["job", "model", *report["override_keys"], "status", *NUMBER_COLUMNS]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in report["jobs"]:
        writer.writerow({k: ("" if row[k] is None else row[k]) for k in columns})
    return out.getvalue()


def json_text(report: dict[str, Any]) -> str:
    return files.json_text(report, indent=2) + "\n"
