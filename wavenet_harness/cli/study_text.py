"""wavenet-study's text and Markdown output: the best trials, importances with their caveat,
the any-step ranking, each table fitted to 100 columns (keys left out are named).
"""

from __future__ import annotations

import textwrap
from typing import Any

from wavenet_harness.tracking.report import short_names

WIDTH = 100  # the text output fits a terminal this wide


def _value(v: Any) -> str:
    """A sampled float in 3 significant digits, more where 3 would round it to another
    value a person would type (ema_decay=0.9998 is not 1)."""
    if not isinstance(v, float):
        return str(v)
    for digits in (3, 4, 5, 6):
        if abs(float(f"{v:.{digits}g}") - v) <= 1e-3 * abs(1 - v) or float(f"{v:.{digits}g}") == v:
            return f"{v:.{digits}g}"
    return f"{v:.6g}"


def print_text(summary: dict[str, Any], markdown: bool) -> None:
    c = summary["counts"]
    wall = f"{summary['wall_minutes']:.1f} min" if summary["wall_minutes"] is not None else "-"
    _say(
        f"study {summary['study']}: {summary['trials']} trials: {c['complete']} finished, {c['pruned']} pruned, "
        f"{c['fail']} failed, {c['running'] + c['waiting']} running or waiting, {c['interrupted']} interrupted "
        f"and asked again; wall time {wall}, trials' run time {summary['trial_minutes']:.1f} min in all",
        markdown,
    )
    _print_any_step(summary.get("best_at_any_step"), markdown)
    if not summary["best"]:
        print("no finished trials yet")
        return
    keys = list(summary["best"][0]["params"])
    header = ["trial", "val loss", *keys, "params", "minutes"]
    rows = [
        [
            str(b["trial"]),
            f"{b['val_loss']:.4f}",
            *(_value(b["params"].get(k)) for k in keys),
            f"{b['model_params']:,}" if b["model_params"] else "-",
            f"{b['minutes']:.1f}" if b["minutes"] else "-",
        ]
        for b in summary["best"]
    ]
    _print_table(header, rows, markdown, keys=range(2, 2 + len(keys)))
    if summary["importances"]:
        print()
        _print_table(
            ["parameter", "importance"], [[k, f"{v:.2f}"] for k, v in summary["importances"].items()], markdown
        )
        if summary["importance_caveat"]:
            _say(("\n> " if markdown else "") + f"note: {summary['importance_caveat']}", markdown)


def _print_any_step(rows: list[dict[str, Any]] | None, markdown: bool) -> None:
    if rows is None:
        return
    if not rows:
        print("no trial has reported a val loss yet\n")
        return
    _say(
        "best val at any evaluation (the trial's config with max_steps=<step> ends there when its lr does "
        "not depend on max_steps):",
        markdown,
    )
    keys = list(rows[0]["params"])
    _print_table(
        ["trial", "val loss", "step", "state", *keys],
        [
            [
                str(r["trial"]),
                f"{r['val_loss']:.4f}",
                str(r["step"]),
                r["state"],
                *(_value(r["params"].get(k)) for k in keys),
            ]
            for r in rows
        ],
        markdown,
        keys=range(4, 4 + len(keys)),
    )
    print()


def _print_table(header: list[str], rows: list[list[str]], markdown: bool, keys: range = range(0)) -> None:
    """A Markdown table, or text that fits WIDTH columns: the `keys` columns (searched keys)
    by their last part, headers on two lines when one is too wide, and the keys that still
    do not fit left out, with a line naming them."""
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---" for _ in header) + "|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return
    names = dict(zip(keys, short_names([header[i] for i in keys]), strict=True))
    shown, left_out = list(range(len(header))), list[str]()
    while True:
        for split in (False, True):
            heads = [_two_lines(names.get(i, header[i])) if split else [names.get(i, header[i])] for i in shown]
            widths = [
                max([len(r[i]) for r in rows] + [len(line) for line in head])
                for i, head in zip(shown, heads, strict=True)
            ]
            if sum(widths) + 2 * (len(widths) - 1) <= WIDTH:
                break
        droppable = [i for i in shown if i in keys]
        if sum(widths) + 2 * (len(widths) - 1) <= WIDTH or not droppable:
            break
        shown.remove(droppable[-1])
        left_out.insert(0, header[droppable[-1]])
    depth = max(len(head) for head in heads)
    lines = [[(head[j - depth + len(head)] if j >= depth - len(head) else "") for head in heads] for j in range(depth)]
    for row in [*lines, *([r[i] for i in shown] for r in rows)]:
        print("  ".join(x.ljust(w) for x, w in zip(row, widths, strict=True)).rstrip())
    if left_out:
        print(f"left out for width: {', '.join(left_out)} (--markdown and --json have every column)")


def _two_lines(header: str) -> list[str]:
    """A header at its words (n_hidden as "n" over "hidden"), split where both lines are shortest."""
    words = header.replace("_", " ").split()
    if len(words) < 2:
        return [header]
    k = min(range(1, len(words)), key=lambda k: max(len(" ".join(words[:k])), len(" ".join(words[k:]))))
    return [" ".join(words[:k]), " ".join(words[k:])]


def _say(text: str, markdown: bool = False) -> None:
    """A line of text, wrapped at spaces to WIDTH columns (Markdown: as it is)."""
    print(
        text
        if markdown
        else textwrap.fill(text, WIDTH, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False)
    )
