"""The charts of the report page (tracking/report_html.py), drawn with plotly.

  best_curves       the lowest val loss so far against steps, for the best runs, from their
                    tb/ events (tracking/curves.py): each job's staircase, one line each
  parallel_coords   one line per run that has a val loss (finished, pruned, running, failed
                    after an evaluation) across the keys that differ, coloured by val loss
  importance_bars   a search's parameter importances, largest on top

Each returns a plotly Figure, or None when there is nothing to draw; the page embeds them.
plotly is the [html] extra, imported only here.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from wavenet_harness.tracking.report import MISSING, short_names
from wavenet_harness.tracking.report_table import _override_cell, job_name

BEST_CURVES = 5  # runs drawn in the curves chart
COLOURS = "Viridis"  # val loss: dark is low (good), yellow high
FONT = dict(family="system-ui, sans-serif", size=13)


def _layout(fig: Any, title: str, height: int = 420, top: int = 60) -> Any:
    fig.update_layout(
        title=dict(text=title, x=0.01),
        height=height,
        font=FONT,
        template="plotly_white",
        margin=dict(l=70, r=40, t=top, b=50),
    )
    return fig


def _label(row: dict[str, Any], keys: list[str]) -> str:
    """A run's legend entry: its job and the values that set it apart (floats to 3 digits)."""
    values = " ".join(
        f"{name}={_override_cell(str(row[key]), 3)}"
        for key, name in zip(keys, short_names(keys), strict=True)
        if row[key] != MISSING
    )
    return f"{job_name(row)} {values}".strip() if len(values) <= 60 else f"{job_name(row)} {values[:57]}..."


def curve_rows(report: dict[str, Any], count: int = BEST_CURVES) -> list[dict[str, Any]]:
    """The runs whose curves are drawn: the best finished ones, else the best of any with a val loss."""
    finished = [row for row in report["jobs"] if row["status"] == "ok" and row["val_loss"] is not None]
    others = sorted(
        (row for row in report["jobs"] if row["status"] != "ok" and row["val_loss"] is not None),
        key=lambda row: row["val_loss"],
    )
    return (finished + others)[:count]


def best_curves(report: dict[str, Any], root: Path) -> Any:
    """The lowest val loss so far at each evaluation, for the best runs (None: no run logged one)."""
    import plotly.graph_objects as go

    from wavenet_harness.tracking.curves import val_curve

    fig = go.Figure()
    rows = curve_rows(report)
    keys = [key for key in report["override_keys"] if len({str(row[key]) for row in rows}) > 1]
    for row in rows:
        try:
            points = val_curve(root / row["job"])
        except Exception:  # no events yet, or damaged ones: the run is left out of the chart
            continue
        best, steps, values = math.inf, [], []
        for point in points:
            best = min(best, point.val_loss) if math.isfinite(point.val_loss) else best
            if math.isfinite(best):
                steps.append(point.step)
                values.append(best)
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=values,
                mode="lines+markers",
                line_shape="hv",
                name=_label(row, keys),
                hovertemplate="step %{x}<br>best val %{y:.4f}<extra>%{fullData.name}</extra>",
            )
        )
    if not fig.data:
        return None
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text="lowest val loss so far")
    fig.update_layout(legend=dict(orientation="h", y=-0.2))
    return _layout(fig, f"Best val loss so far: the {len(fig.data)} best runs", height=460)


def _log_ticks(low: float, high: float) -> list[float]:
    """1, 2 and 5 times the powers of ten between low and high, and the two ends."""
    ticks = {low, high}
    for power in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        ticks |= {m * 10.0**power for m in (1, 2, 5) if low <= m * 10.0**power <= high}
    return sorted(ticks)


def _dimension(label: str, values: list[str]) -> dict[str, Any]:
    """An axis: numbers as numbers (on a log scale when they span a factor of 20 or more, as a
    searched lr does), anything else as evenly spaced named ticks."""
    try:
        numbers = [float(v) for v in values]
    except ValueError:
        names = sorted(set(values), key=str)
        return dict(
            label=label, values=[names.index(v) for v in values], tickvals=list(range(len(names))), ticktext=names
        )
    low, high = min(numbers), max(numbers)
    if low > 0 and high / low >= 20:
        ticks = _log_ticks(low, high)
        return dict(
            label=f"{label} (log)",
            values=[math.log10(v) for v in numbers],
            tickvals=[math.log10(t) for t in ticks],
            ticktext=[f"{t:.3g}" for t in ticks],
        )
    return dict(label=label, values=numbers)


def parallel_coords(report: dict[str, Any]) -> Any:
    """Every run with a val loss across the keys that differ, coloured by val loss (None: fewer
    than two such runs, or no key differs)."""
    import plotly.graph_objects as go

    rows = [row for row in report["jobs"] if row["val_loss"] is not None]
    keys = [key for key in report["override_keys"] if len({str(row[key]) for row in rows}) > 1]
    if len(rows) < 2 or not keys:
        return None
    dimensions = [
        _dimension(name, [str(row[key]) for row in rows]) for key, name in zip(keys, short_names(keys), strict=True)
    ]
    if len({row["status"] for row in rows}) > 1:  # pruned beside finished: say which is which
        dimensions.append(_dimension("status", [row["status"] for row in rows]))
    values = [row["val_loss"] for row in rows]
    dimensions.append(dict(label="val loss", values=values))
    fig = go.Figure(
        go.Parcoords(
            line=dict(color=values, colorscale=COLOURS, showscale=True, colorbar=dict(title=dict(text="val loss"))),
            dimensions=dimensions,
            labelangle=0,
            labelside="top",
        )
    )
    return _layout(fig, f"{len(rows)} runs with a val loss, coloured by it", height=500, top=110)


def importance_bars(importances: dict[str, float]) -> Any:
    """A search's parameter importances as horizontal bars, the largest on top (None: none)."""
    import plotly.graph_objects as go

    if not importances:
        return None
    ordered = sorted(importances.items(), key=lambda item: item[1])
    fig = go.Figure(
        go.Bar(
            x=[v for _, v in ordered],
            y=[k for k, _ in ordered],
            orientation="h",
            text=[f"{v:.2f}" for _, v in ordered],
            textposition="auto",
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="importance (fANOVA, sums to 1)", range=[0, 1])
    return _layout(fig, "Parameter importances", height=max(260, 60 + 36 * len(ordered)))
