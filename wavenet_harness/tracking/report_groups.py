"""`wavenet-report SWEEP_DIR --by seed`: runs that differ only in one key, one row each group.

A recipe's number is a mean over seeds (the README's val 1.9246 ± 0.0021 is seeds 42, 1
and 2), and one seed's luck is not a recipe: grouped, each configuration shows how many
runs it has, their mean val loss ± its standard deviation (the sample's, n - 1), and the
same for the test loss where the runs' metrics.json hold one (`test_loss`). Groups rank
by mean val; a run that did not finish (diverged, failed, still running) counts in its
group's runs but not in its means.

Runs belong together when every override but the `by` key is the same, leaving out what
only says where and how a job ran (the sweep's bookkeeping, which Job.override_values
already leaves out, hydra.*, resume). The runs come from tracking/report.py's find_jobs.
"""

from __future__ import annotations

import csv
import io
import statistics
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from wavenet_harness.base.errors import RunDirError
from wavenet_harness.tracking.report import MISSING, Job, _natural_key, find_jobs
from wavenet_harness.tracking.report_table import _override_cell

NOT_WHAT_IT_IS = ("hydra.", "optuna.", "resume")  # where and how a job ran, not what it trains
UNSET = "(default)"


def _what_it_is(job: Job, by: str) -> dict[str, str]:
    return {k: v for k, v in job.override_values().items() if k != by and not k.startswith(NOT_WHAT_IT_IS)}


def mean_sd(values: list[float]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation (None where there are too few values)."""
    mean = statistics.fmean(values) if values else None
    return mean, (statistics.stdev(values) if len(values) > 1 else None)


def group_jobs(jobs: list[Job], by: str) -> list[dict[str, Any]]:
    """One row per group of runs alike but for `by`: its shared overrides, its `by` values,
    run counts, and mean ± sd of val (and test) loss; the best mean val first."""
    groups: dict[tuple, list[Job]] = {}
    for job in sorted(jobs, key=lambda j: _natural_key(j.name)):
        groups.setdefault(tuple(sorted(_what_it_is(job, by).items())), []).append(job)
    rows = []
    for shared, members in groups.items():
        finished = [(j, v) for j in members if j.status == "ok" and (v := j.val_loss) is not None]
        val_mean, val_sd = mean_sd([v for _, v in finished])
        tests = [t for j, _ in finished if (t := j.record.number("test_loss")) is not None]
        test_mean, test_sd = mean_sd(tests)
        rows.append(
            {
                "overrides": dict(shared),
                by: [j.override_values().get(by, UNSET) for j in members],
                "jobs": [j.name for j in members],
                "runs": len(members),
                "finished": len(finished),
                "val_mean": val_mean,
                "val_sd": val_sd,
                "test_runs": len(tests),
                "test_mean": test_mean,
                "test_sd": test_sd,
            }
        )
    return sorted(rows, key=lambda r: (r["val_mean"] is None, r["val_mean"] or 0.0))


def build_groups(root: Any, by: str) -> dict[str, Any]:
    """The grouped report of every run under `root`: the keys that tell groups apart, and the rows."""
    jobs = find_jobs(root)
    if not jobs:
        raise RunDirError(f"no runs under {root} (no metrics.json or .hydra/ found)")
    rows = group_jobs(jobs, by)
    keys = [
        key
        for key in dict.fromkeys(k for r in rows for k in r["overrides"])
        if len({r["overrides"].get(key, MISSING) for r in rows}) > 1
    ]
    return {"sweep_dir": str(root), "by": by, "override_keys": keys, "groups": rows}


def mean_cell(mean: float | None, sd: float | None, count: int) -> str:
    if mean is None:
        return MISSING
    return f"{mean:.4f} ± {sd:.4f} ({count})" if sd is not None else f"{mean:.4f} ({count})"


def print_groups(report: dict[str, Any], console: Console) -> None:
    """The grouped table: the keys that tell groups apart, the `by` values, runs, val and test."""
    by, keys, rows = report["by"], report["override_keys"], report["groups"]
    with_test = any(r["test_runs"] for r in rows)
    table = Table(
        title=f"{len(rows)} groups of runs that differ only in {escape(by)}, in {escape(report['sweep_dir'])}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for header in [*keys, by, "runs", "val loss: mean ± sd (n)", *(["test loss: mean ± sd (n)"] if with_test else [])]:
        table.add_column(escape(header), overflow="fold")
    for r in rows:
        cells = [
            *(_override_cell(str(r["overrides"].get(k, MISSING))) for k in keys),
            ", ".join(r[by]),
            f"{r['finished']} ok / {r['runs']}" if r["finished"] != r["runs"] else str(r["runs"]),
            mean_cell(r["val_mean"], r["val_sd"], r["finished"]),
        ]
        cells += [mean_cell(r["test_mean"], r["test_sd"], r["test_runs"])] if with_test else []
        table.add_row(*(escape(c) for c in cells))
    console.print(table)


def groups_csv(report: dict[str, Any]) -> str:
    """The grouped rows as CSV: the keys that tell groups apart, the `by` values (space-separated), the numbers."""
    by, keys = report["by"], report["override_keys"]
    numbers = ["runs", "finished", "val_mean", "val_sd", "test_runs", "test_mean", "test_sd"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*keys, by, *numbers])
    for r in report["groups"]:
        writer.writerow(
            [
                *(r["overrides"].get(k, "") for k in keys),
                " ".join(r[by]),
                *("" if r[n] is None else r[n] for n in numbers),
            ]
        )
    return out.getvalue()
