"""The terminal table of `wavenet-report`: one table per sweep, each fitting the terminal.

By default the output fits a terminal of 100 columns (a terminal's own width): a folder
that holds several sweeps (a grid, a search, all of runs/) prints one table per sweep,
the one with the best run first, each with the keys that differ within it (a dotted key
by its last part, model.dropout as dropout), status, steps and the two losses; the model
only when runs of different models are side by side. Values are never cut or split
across lines: long headers wrap at their words, and keys that still do not fit are left
out, with a line naming them (the CSV and JSON hold every column). `--all` shows every
column (the model, full key names, seconds, params) at whatever width that takes.

The best run's rerun command closes the output, split at its words with shell line
continuations where it is longer than a line, so it can be pasted as printed.
"""

from __future__ import annotations

import shlex
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from wavenet_harness.tracking.report import MISSING, NUMBER_COLUMNS, short_names

TABLE_COLUMNS = tuple(c for c in NUMBER_COLUMNS if c != "max_steps")  # the table shows "step / max" instead
# What the default table shows after the differing keys: how far, and the losses, val first.
SHORT_COLUMNS = ("steps", "val_loss", "train_loss")
STATUS_STYLE = {"ok": "green", "running": "cyan", "diverged": "red", "failed": "red", "pruned": "yellow"}
OUTSIDE = "outside any sweep"


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


def groups(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The report's rows by sweep folder, the sweep with the best run first (rows are ranked)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for row in report["jobs"]:
        found.setdefault(row.get("sweep", ""), []).append(row)
    return found


def group_title(report: dict[str, Any], sweep: str, count: int) -> str:
    """'6 runs in runs/sweeps/x' for the only sweep; one of several by its folder inside the
    report's (the first line names that)."""
    runs = f"{count} run{'s' if count != 1 else ''}"
    if len(groups(report)) > 1:
        return f"{runs} {OUTSIDE}" if not sweep else f"{runs} in {sweep}"
    folder = report["sweep_dir"] if sweep in ("", ".") else f"{report['sweep_dir'].rstrip('/')}/{sweep}"
    return f"{runs} in {folder}"


def job_name(row: dict[str, Any]) -> str:
    """The job as its table names it: relative to its sweep folder (the title names that)."""
    sweep = row.get("sweep", "")
    return row["job"][len(sweep) + 1 :] if sweep and sweep != "." else row["job"]


def _cells(
    rows: list[dict[str, Any]], keys: list[str], show_model: bool, numbers: tuple[str, ...], digits: int
) -> list[list[str]]:
    """Each row's cells as rich markup (folder names and values may hold [...]: escaped)."""
    body = []
    for row in rows:
        style = STATUS_STYLE.get(row["status"], "")
        status = escape(str(row["status"]))
        cells = [
            escape(job_name(row)),
            *([escape(row["model"])] if show_model else []),
            *(escape(_override_cell(str(row[k]), digits)) for k in keys),
            f"[{style}]{status}[/]" if style else status,
        ]
        cells += [_steps_cell(row) if column == "steps" else _fmt(column, row[column]) for column in numbers]
        body.append(cells)
    return body


def _widths(body: list[list[str]], headers: list[str], wrap: bool) -> list[int]:
    """Each column as wide as its widest value and its header (or, wrapped, the header's longest word)."""
    values = [max([len(Text.from_markup(cells[i])) for cells in body] or [1]) for i in range(len(headers))]
    return [
        max([value, *(len(w) for w in header.split())] if wrap else [value, len(header)])
        for value, header in zip(values, headers, strict=True)
    ]


def _layout(rows, keys, everything: bool, width: int) -> tuple[list[str], list[str], list[list[str]], list[int]]:
    """The columns a table shows: (the keys left out, headers, cells, widths). Values stay whole:
    headers wrap at their words first, then the keys that do not fit are left out, last first."""
    show_model = everything or len({row["model"] for row in rows}) > 1
    numbers = TABLE_COLUMNS if everything else SHORT_COLUMNS
    names = keys if everything else short_names(keys)
    shown, left_out = list(range(len(keys))), list[str]()
    while True:
        body = _cells(rows, [keys[i] for i in shown], show_model, numbers, 4 if everything else 3)
        headers = [
            "job",
            *(["model"] if show_model else []),
            *(names[i] for i in shown),
            "status",
            *(column.replace("_", " ") for column in numbers),
        ]
        widths = _widths(body, headers, wrap=False)
        if everything or sum(widths) + len(widths) + 1 <= width:
            return left_out, headers, body, widths
        headers = [header.replace("_", " ") for header in headers]  # weight_decay as "weight" over "decay"
        widths = _widths(body, headers, wrap=True)
        if sum(widths) + len(widths) + 1 <= width or not shown:
            return left_out, headers, body, widths
        left_out.insert(0, names[shown.pop()])


def _table(rows: list[dict[str, Any]], keys: list[str], console: Console, everything: bool) -> tuple[Table, list[str]]:
    """One sweep's table (only the keys that differ within it) and the keys it had to leave out."""
    own = [k for k in keys if len({row[k] for row in rows}) > 1]
    left_out, headers, body, widths = _layout(rows, own, everything, console.width)
    numbers = len(TABLE_COLUMNS if everything else SHORT_COLUMNS)
    # Light lines and one space between columns; a column is never narrower than its widest
    # value or the longest word of its header, so values stay whole and headers wrap.
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 0), pad_edge=False)
    for index, (header, column_width) in enumerate(zip(headers, widths, strict=True)):
        table.add_column(
            escape(header),
            justify="right" if index >= len(headers) - numbers else "left",
            overflow="fold",
            width=column_width,
        )
    for cells in body:
        table.add_row(*cells)
    return table, left_out


def print_table(report: dict[str, Any], console: Console, everything: bool = False) -> None:
    """A table per sweep (see the module's docstring), then the best run and its rerun command."""
    found = groups(report)
    if len(found) > 1:
        console.print(
            f"{len(report['jobs'])} runs in {escape(report['sweep_dir'])}: a table per sweep, each with "
            "the keys that differ within it",
            highlight=False,
            soft_wrap=True,
        )
    for sweep, rows in found.items():
        console.print(escape(group_title(report, sweep, len(rows))), highlight=False, soft_wrap=True)
        table, left_out = _table(rows, report["override_keys"], console, everything)
        console.print(table, width=None if not everything else max(console.width, _natural_width(table, console)))
        if left_out:
            console.print(
                f"left out for width: {escape(', '.join(left_out))} (--csv and --json hold every column)",
                highlight=False,
            )
        console.print()
    best = report["best"]
    if best:
        console.print(f"best: {escape(best['job'])} (val loss {best['val_loss']:.4f}); rerun it with:", highlight=False)
        console.print(wrapped_command(best["command"], console.width), highlight=False, markup=False, soft_wrap=True)
    else:
        console.print("no run has finished yet")


def _natural_width(table: Table, console: Console) -> int:
    return sum(column.width or 0 for column in table.columns) + len(table.columns) + 1


def wrapped_command(command: str, width: int = 100, indent: str = "  ") -> str:
    """A shell command split at its words with ` \\` continuations into lines of at most `width`
    (a word longer than a line keeps a line of its own); pasted, it is the same command."""
    lines, line = [], indent
    for token in shlex.split(command):
        word = token if token == "&&" else shlex.quote(token)  # as shlex.join wrote it
        if line.strip() and len(line) + 1 + len(word) + 2 > width:
            lines.append(line + " \\")
            line = indent + "    "
        line = f"{line} {word}" if line.strip() else line + word
    return "\n".join([*lines, line])
