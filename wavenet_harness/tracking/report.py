"""The report table behind `wavenet-report SWEEP_DIR`: every run under a folder, best val loss first.

A run is any folder under SWEEP_DIR holding metrics.json (or a Hydra job folder, .hydra/,
whose metrics.json is not written yet). For each it shows the command-line overrides
that distinguish it from the other runs (from .hydra/overrides.yaml: only the keys whose
values differ), the model it trains, status, steps, seconds, params, train and val loss,
then the command that reruns the best run. Runs of different models rank side by side.
Finished runs come first by val loss; running, then stopped or failed runs follow. It only
reads, so it is safe to run while a sweep is still going: a running job shows the step it
has reached out of max_steps and its last val loss (its metrics.json is rewritten at every
evaluation and checkpoint).

    wavenet-report runs/multirun/2026-11-28/10-00-00
    wavenet-report runs/ --all                          # every column: seconds, params, the model
    wavenet-report runs/ --csv report.csv --json -      # the same table for other tools

By default the table fits a terminal of 100 columns: the job, the keys that differ (a
dotted key by its last part, model.dropout as dropout), status, steps and the two losses;
the model only when runs of different models are side by side. `--all` adds the rest.
Cells wrap rather than being cut short. The CSV and JSON always hold every column.

Runs are read through base/records.py (load_runs); the command line is cli/report.py.
"""

from __future__ import annotations

import csv
import io
import math
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from wavenet_harness.base import files
from wavenet_harness.base.errors import RunDirError
from wavenet_harness.base.records import METRICS_NAME, RunRecord, load_runs, read_starts

NUMBER_COLUMNS = ("steps", "max_steps", "seconds", "params", "train_loss", "val_loss")
TABLE_COLUMNS = tuple(c for c in NUMBER_COLUMNS if c != "max_steps")  # the table shows "step / max" instead
# What the default table shows after the differing keys: how far, and the losses, val first.
SHORT_COLUMNS = ("steps", "val_loss", "train_loss")
MISSING = "-"  # an override a run did not set


@dataclass
class Job:
    name: str  # the run folder relative to the sweep folder
    record: RunRecord

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

    @property
    def val_loss(self) -> float | None:
        return self.record.finite_val_loss

    def override_values(self) -> dict[str, str]:
        """{'n_hidden': '128', 'model': 'mlp', ...} from 'key=value' overrides."""
        values = {}
        for item in self.overrides:
            key, sep, value = item.partition("=")
            # a sweep's jobs record booleans as Python writes them (False), a single run as
            # typed (false): one spelling, so that the same value never looks like two
            values[key.lstrip("+~")] = value.lower() if value in ("True", "False") else value
        return values


def _natural_key(text: str) -> list:
    """'multirun/.../10' after '.../9': numbers compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def find_jobs(root: Path) -> list[Job]:
    """Every run folder under `root` (root itself included), read without changing anything."""
    return [Job(record.run_dir.relative_to(root).as_posix() if record.run_dir != root else ".", record)
            for record in load_runs(root)]


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


def _fresh_start(overrides: list[str]) -> list[str]:
    """A start's overrides without what tied it to its own folder (resume=true, hydra.run.dir)."""
    return [o for o in overrides if not o.startswith(("hydra.run.dir=", "resume=true", "resume=True"))]


def rerun_command(job: Job) -> str:
    """The command that trains the run again, from its first start's overrides (starts.json).

    A run a resume extended (another max_steps; a schedule that depends on max_steps then
    differs from a run trained at the final length in one go) is rerun as the same chain:
    the first start, then a resume at each new max_steps. Plain resumes after a stop need
    no part in it: a resume continues bit for bit.
    """
    starts = read_starts(job.run_dir)
    if not starts:  # runs from before starts.json: the overrides Hydra saved
        return shlex.join(["wavenet-train", *job.overrides])
    stages: list[dict[str, Any]] = []
    for start in starts:
        if not stages or start.get("max_steps") != stages[-1].get("max_steps"):
            stages.append(start)
    first = _fresh_start([str(o) for o in stages[0].get("overrides", [])])
    if len(stages) == 1:
        return shlex.join(["wavenet-train", *first])
    place = f"hydra.run.dir={RERUN_DIR}"
    commands = [shlex.join(["wavenet-train", *first, place])]
    for stage in stages[1:]:
        later = _fresh_start([str(o) for o in stage.get("overrides", [])])
        commands.append(shlex.join(["wavenet-train", *later, place, "resume=true"]))
    return " && ".join(commands)


def table_rows(ranked: list[Job], keys: list[str]) -> list[dict[str, Any]]:
    """One flat dict per job: job, model, each distinguishing key, status and the numbers."""
    rows = []
    for job in ranked:
        overrides = job.override_values()
        row: dict[str, Any] = {"job": job.name, "model": job.model}
        row.update({key: overrides.get(key, MISSING) for key in keys})
        row["status"] = job.status
        for column in NUMBER_COLUMNS:
            row[column] = job.record.get(column) if job.record.number(column) is not None else None
        rows.append(row)
    return rows


def build_report(root: Path) -> dict[str, Any]:
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
        "best": {"job": best.name, "val_loss": best.val_loss, "command": rerun_command(best)} if best else None,
    }


# ---------------------------------------------------------------- output


def _fmt(column: str, value: Any) -> str:
    if value is None:
        return MISSING
    if column in ("train_loss", "val_loss"):
        return f"{value:.4f}"
    if column == "seconds":
        return f"{value:,.1f}"
    if column in ("steps", "params"):
        return f"{int(value):,}"
    return str(value)


def _steps_cell(row: dict[str, Any]) -> str:
    """'step / max_steps' for a job short of its end (running, pruned, failed); else its steps."""
    steps, max_steps = row.get("steps"), row.get("max_steps")
    if steps is not None and max_steps and int(steps) < int(max_steps):
        return f"{int(steps):,} / {int(max_steps):,}"
    return _fmt("steps", steps)


def _override_cell(value: str, digits: int = 4) -> str:
    """A sampled float (0.21539834816417347) as 4 (or `digits`) significant digits in the
    table; the CSV and JSON keep what the run was given."""
    if "." in value or "e" in value.lower():
        try:
            return f"{float(value):.{digits}g}"
        except ValueError:
            pass
    return value


STATUS_STYLE = {"ok": "green", "running": "cyan", "diverged": "red", "failed": "red", "pruned": "yellow"}


def short_names(keys: list[str]) -> list[str]:
    """Each dotted key by its last part (model.dropout -> dropout), unless two would then look alike."""
    tails = [key.rpartition(".")[2] for key in keys]
    return [tail if tails.count(tail) == 1 else key for key, tail in zip(keys, tails, strict=True)]


def print_table(report: dict[str, Any], console: Console, everything: bool = False) -> None:
    """The table; by default the columns that tell runs apart and the losses (see the module's
    docstring), with `everything` all of them."""
    keys = report["override_keys"]
    rows = report["jobs"]
    show_model = everything or len({row["model"] for row in rows}) > 1
    numbers = TABLE_COLUMNS if everything else SHORT_COLUMNS
    # Folder names and override values may hold rich's markup characters ([...]): escaped.
    body = []
    for row in rows:
        style = STATUS_STYLE.get(row["status"], "")
        status = escape(str(row["status"]))
        cells = [escape(row["job"]), *([escape(row["model"])] if show_model else []),
                 *(escape(_override_cell(str(row[k]), digits=4 if everything else 3)) for k in keys),
                 f"[{style}]{status}[/]" if style else status]
        cells += [_steps_cell(row) if column == "steps" else _fmt(column, row[column]) for column in numbers]
        body.append(cells)
    key_headers = keys if everything else short_names(keys)
    headers = ["job", *(["model"] if show_model else []), *key_headers, "status",
               *(column.replace("_", " ") for column in numbers)]
    # Light lines and one space between columns; a column is never narrower than its widest
    # value or the longest word of its header, so values stay whole and headers wrap.
    table = Table(title=f"{len(rows)} runs in {escape(report['sweep_dir'])}", title_justify="left",
                  box=box.SIMPLE_HEAD, padding=(0, 0), pad_edge=False)
    values = [max([len(Text.from_markup(cells[index])) for cells in body] or [1]) for index in range(len(headers))]
    widths = [max(value, len(header)) for value, header in zip(values, headers, strict=True)]
    if sum(widths) + len(widths) > console.width and not everything:
        # Too wide: headers wrap at their words (weight_decay as "weight" over "decay").
        headers = [header.replace("_", " ") for header in headers]
        widths = [
            max([value] + [len(word) for word in header.split()]) for value, header in zip(values, headers, strict=True)
        ]
    for index, (header, width) in enumerate(zip(headers, widths, strict=True)):
        right = index >= len(headers) - len(numbers)
        table.add_column(escape(header), justify="right" if right else "left", overflow="fold", width=width)
    for cells in body:
        table.add_row(*cells)
    console.print(table)
    best = report["best"]
    if best:
        console.print(f"best: {escape(best['job'])} (val loss {best['val_loss']:.4f}); rerun it with:")
        console.print(f"  {best['command']}", highlight=False, markup=False, soft_wrap=True)
    else:
        console.print("no run has finished yet")


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
