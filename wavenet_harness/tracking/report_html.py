"""`wavenet-report SWEEP --html FILE`: one page for a sweep, in one file that works offline.

Top to bottom, the page shows:
  - the runs, best val loss first: job, the keys that differ, status (pruned, failed...),
    steps, val and train loss, seconds and params (the model where runs differ in it)
  - the best runs' lowest val loss so far against steps, from their tb/ events
  - parallel coordinates over the keys that differ, one line per run with a val loss
    (pruned runs with their last one), coloured by val loss
  - a search's parameter importances (Optuna's fANOVA over the finished trials, handed in
    by the caller with the caveat below 10 of them); a grid: a line saying why there are none
  - the best run's config (its .hydra/config.yaml, without the trial link) and the command
    that reruns it as one plain run
plotly.js is embedded once, inline (no CDN), so the page opens from disk without network;
the charts are tracking/report_charts.py's. plotly is the [html] extra.
"""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any

from wavenet_harness.base.files import read_regular_text
from wavenet_harness.base.records import OVERRIDES_PATH
from wavenet_harness.base.run_config import TRIAL_FIELD
from wavenet_harness.tracking import report_charts
from wavenet_harness.tracking.report_table import (
    STATUS_STYLE,
    _fmt,
    _override_cell,
    _steps_cell,
    groups,
    job_name,
    wrapped_command,
)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1200px; padding: 0 16px; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 4px; } h2 { font-size: 1.2em; margin-top: 32px; }
.lead, .note { color: #555; } .note { font-size: 0.95em; }
table { border-collapse: collapse; font-size: 0.88em; } .wide { overflow-x: auto; }
th, td { padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: left; white-space: nowrap; }
th { white-space: normal; vertical-align: bottom; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.best td { background: #eef7ee; font-weight: 600; }
.ok { color: #1a7f37; } .pruned { color: #9a6700; } .failed, .diverged { color: #cf222e; } .running { color: #0969da; }
pre { background: #f6f8fa; padding: 10px 14px; overflow-x: auto; font-size: 0.88em; line-height: 1.4; }
.caveat { background: #fff8c5; border-left: 4px solid #d4a72c; padding: 6px 12px; }
"""


def _counts(rows: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items(), key=lambda item: -item[1]))


PAGE_COLUMNS = ("steps", "val_loss", "train_loss", "seconds", "params")  # val loss beside status, as in the terminal


def runs_table(report: dict[str, Any]) -> str:
    """Every run as one HTML table row, best val loss first; the sweep folder when there are
    several, the model when runs of different models are side by side."""
    keys, rows = report["override_keys"], report["jobs"]
    several = len(groups(report)) > 1
    models = len({row["model"] for row in rows}) > 1
    headers = [
        *(["sweep"] if several else []),
        "job",
        *(["model"] if models else []),
        *keys,
        "status",
        *(c.replace("_", " ") for c in PAGE_COLUMNS),
    ]
    # a long key may wrap after its underscores (block_ over size) where the table is too wide
    names = [html.escape(h).replace("_", "_<wbr>") for h in headers]
    head = "".join(
        f'<th class="num">{h}</th>' if i >= len(headers) - len(PAGE_COLUMNS) else f"<th>{h}</th>"
        for i, h in enumerate(names)
    )
    best = (report["best"] or {}).get("job")
    body = []
    for row in rows:
        status = row["status"]
        cells = [
            *([row.get("sweep") or "-"] if several else []),
            job_name(row) if several else row["job"],
            *([row["model"]] if models else []),
            *(_override_cell(str(row[k])) for k in keys),
        ]
        tds = [f"<td>{html.escape(str(c))}</td>" for c in cells]
        tds.append(f'<td class="{status if status in STATUS_STYLE else ""}">{html.escape(status)}</td>')
        tds += [
            f'<td class="num">{html.escape(_steps_cell(row) if c == "steps" else _fmt(c, row[c]))}</td>'
            for c in PAGE_COLUMNS
        ]
        body.append(f'<tr class="best">{"".join(tds)}</tr>' if row["job"] == best else f"<tr>{''.join(tds)}</tr>")
    return f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _chart(fig: Any, div_id: str, missing: str) -> str:
    if fig is None:
        return f'<p class="note">{html.escape(missing)}</p>'
    return fig.to_html(
        full_html=False, include_plotlyjs=False, div_id=div_id, config={"displaylogo": False, "responsive": True}
    )


def importance_section(importances: dict[str, Any] | None) -> str:
    """A search's importances with their caveat; for a grid (None) the line that says why there are none."""
    if importances is None:
        return (
            '<p class="note">This folder holds no Optuna study of its own (optuna.journal), so nothing is '
            "ranked by importance: a grid sweep has none, and a search's page is made from its own folder. "
            "The table and the parallel coordinates above show what each key did.</p>"
        )
    values, caveat = importances.get("values") or {}, importances.get("caveat")
    parts = []
    if caveat:
        parts.append(f'<p class="caveat"><b>Careful:</b> {html.escape(caveat)}.</p>')
    missing = importances.get("why_none") or "Importances need at least two finished trials with different values."
    parts.append(_chart(report_charts.importance_bars(values), "importances", missing))
    return "".join(parts)


def best_config(run_dir: Path) -> str | None:
    """The run's saved config (.hydra/config.yaml) without the link to its trial; None if unreadable."""
    import yaml

    try:
        config = yaml.safe_load(read_regular_text(run_dir / OVERRIDES_PATH.parent / "config.yaml"))
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(config, dict):
        return None
    config.pop(TRIAL_FIELD, None)
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False)


def best_section(report: dict[str, Any], root: Path) -> str:
    best = report["best"]
    if not best:
        return '<p class="note">No run has finished yet.</p>'
    config = best_config(root / best["job"])
    return (
        f"<p>Job <b>{html.escape(best['job'])}</b>, val loss <b>{best['val_loss']:.4f}</b>. Rerun it as one "
        f"plain run with:</p><pre>{html.escape(wrapped_command(best['command'], 100, indent=''))}</pre>"
        + (
            f"<p>Its config (.hydra/config.yaml):</p><pre>{html.escape(config)}</pre>"
            if config
            else '<p class="note">Its .hydra/config.yaml could not be read.</p>'
        )
    )


def page(report: dict[str, Any], importances: dict[str, Any] | None = None) -> str:
    """The whole page as one HTML document (see the module's docstring)."""
    from plotly.offline import get_plotlyjs

    root = Path(report["sweep_dir"])
    rows, best = report["jobs"], report["best"]
    title = f"{len(rows)} runs in {report['sweep_dir']}"
    lead = _counts(rows) + (f"; best val loss {best['val_loss']:.4f} ({best['job']})" if best else "")
    sections = [
        ("Runs, best val loss first", runs_table(report)),
        (
            "The best runs' val loss",
            _chart(report_charts.best_curves(report, root), "curves", "No run has logged a val loss in tb/ yet."),
        ),
        (
            "Parallel coordinates",
            _chart(
                report_charts.parallel_coords(report),
                "parallel",
                "Needs two runs with a val loss and a key whose value differs.",
            ),
        ),
        ("Parameter importances", importance_section(importances)),
        ("The best run", best_section(report, root)),
    ]
    body = "".join(f"<h2>{html.escape(name)}</h2>{content}" for name, content in sections)
    written = time.strftime("%Y-%m-%d %H:%M")
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style><script>{get_plotlyjs()}</script></head><body>"
        f'<h1>{html.escape(title)}</h1><p class="lead">{html.escape(lead)}. Written by wavenet-report on '
        f"{written}; it opens without network.</p>{body}</body></html>\n"
    )
