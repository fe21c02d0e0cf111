"""`wavenet-report SWEEP_DIR`: every run under a folder in one table, best val loss first.

    wavenet-report runs/multirun/2026-11-28/10-00-00
    wavenet-report runs/ --all                          # every column
    wavenet-report runs/ --csv report.csv --json -      # the same table for other tools
    wavenet-report runs/sweeps/hier_optuna --html hier.html   # one page: table, charts, best config
    wavenet-report runs/multirun/2026-11-28/10-00-00 --by seed   # runs alike but for the seed: mean ± sd

The table is built by tracking/report.py and printed by tracking/report_table.py, the page
by tracking/report_html.py, the groups of --by by tracking/report_groups.py; this module
only reads the command line and writes the outputs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from wavenet_harness.adapter.rerun import single_run_overrides
from wavenet_harness.base.errors import UsageError
from wavenet_harness.base.extras import has_extra, missing_extra_message
from wavenet_harness.base.files import write_atomic
from wavenet_harness.base.records import JOURNAL_NAME
from wavenet_harness.cli import OneLineArgumentParser, one_line_errors
from wavenet_harness.tracking.report import build_report, csv_text, json_text
from wavenet_harness.tracking.report_groups import build_groups, groups_csv, print_groups
from wavenet_harness.tracking.report_table import print_table
from wavenet_harness.tracking.rundir import check_output_path

PROG = "wavenet-report"
TABLE_WIDTH = 100


def _check_destination(destination: str | None, option: str) -> None:
    """Before anything is read or written: never a run's file, never another kind of file."""
    if destination and destination != "-":
        check_output_path(Path(destination), (f".{option}",), f"--{option}")


def _write(destination: str, text: str) -> None:
    if destination == "-":
        sys.stdout.write(text)
        return
    try:
        write_atomic(Path(destination), lambda f: f.write(text))
    except OSError as err:
        raise UsageError(f"cannot write {destination}: {err.strerror or err}") from None
    print(f"wrote {destination}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(
        prog=PROG,
        description="Tabulate every run under a folder (a multirun, or all of runs/), best val loss first.",
    )
    parser.add_argument("sweep_dir", metavar="SWEEP_DIR", help="a multirun folder or any folder of runs")
    parser.add_argument(
        "--all",
        action="store_true",
        help="every column (seconds, params, the model, full key names), not only those that tell "
        "runs apart and the losses",
    )
    parser.add_argument("--csv", metavar="PATH", help="also write the table as CSV ('-': standard output)")
    parser.add_argument("--json", metavar="PATH", help="also write the table as JSON ('-': standard output)")
    parser.add_argument(
        "--html",
        metavar="FILE",
        help="also write one page that works offline: the table, the best "
        "runs' curves, parallel coordinates, importances ('-': "
        "standard output; the [html] extra)",
    )
    parser.add_argument(
        "--by",
        metavar="KEY",
        help="one row per group of runs that differ only in KEY (e.g. seed): mean ± sd of val and test loss",
    )
    return parser


def _check_html(destination: str | None) -> None:
    """Before anything is read: plotly installed, a folder that exists, never a run's file."""
    if destination is None:
        return
    if not has_extra("html"):
        raise UsageError(f"--html: {missing_extra_message('html')}")
    folder = Path(destination).parent
    if destination != "-" and not folder.is_dir():
        raise UsageError(f"--html {destination}: the folder {folder} does not exist; create it or give another path")
    _check_destination(destination, "html")


def _importances(root: Path) -> dict | None:
    """A search folder's importances for the page (None: the folder holds no study of its own)."""
    if not (root / JOURNAL_NAME).is_file():
        return None
    from wavenet_harness.sweeps.study import study_importances

    try:
        return study_importances(str(root / JOURNAL_NAME))
    except Exception as err:  # a damaged journal: the page is still worth having
        return {"values": {}, "why_none": f"the study could not be read: {' '.join(str(err).split())[:200]}"}


def _grouped(args: argparse.Namespace, root: Path) -> None:
    """--by KEY: one row per group of runs alike but for KEY (tracking/report_groups.py)."""
    report = build_groups(root, args.by)
    if "-" not in (args.csv, args.json):
        print_groups(report, Console(width=None if sys.stdout.isatty() else TABLE_WIDTH))
    if args.csv:
        _write(args.csv, groups_csv(report))
    if args.json:
        _write(args.json, json_text(report))


def main(argv: list[str] | None = None) -> None:
    with one_line_errors(PROG):
        args = _parser().parse_args(argv)
        if [args.csv, args.json, args.html].count("-") > 1:
            raise UsageError("only one of --csv, --json and --html can write to standard output ('-')")
        if args.by and args.html:
            raise UsageError("--html shows every run, not groups: give --by or --html, not both")
        _check_destination(args.csv, "csv")
        _check_destination(args.json, "json")
        _check_html(args.html)
        root = Path(args.sweep_dir)
        if not root.exists():
            raise UsageError(f"{root} does not exist")
        if not root.is_dir():
            raise UsageError(f"{root} is not a folder; give a multirun folder or a folder of runs")
        if args.by:
            _grouped(args, root)
            return
        report = build_report(root, single_run=single_run_overrides)
        if "-" not in (args.csv, args.json, args.html):
            # A terminal's own width; piped or redirected, the 100 columns the table is made for
            # (--all: wider, so every column keeps a readable width).
            width = None if sys.stdout.isatty() else (200 if args.all else TABLE_WIDTH)
            print_table(report, Console(width=width), everything=args.all)
        if args.csv:
            _write(args.csv, csv_text(report))
        if args.json:
            _write(args.json, json_text(report))
        if args.html:
            from wavenet_harness.tracking.report_html import page

            _write(args.html, page(report, _importances(root)))


if __name__ == "__main__":
    main()
