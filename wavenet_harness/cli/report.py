"""`wavenet-report SWEEP_DIR`: every run under a folder in one table, best val loss first.

    wavenet-report runs/multirun/2026-11-28/10-00-00
    wavenet-report runs/ --all                          # every column
    wavenet-report runs/ --csv report.csv --json -      # the same table for other tools
    wavenet-report runs/multirun/2026-11-28/10-00-00 --by seed   # runs alike but for the seed: mean ± sd

The table is built by tracking/report.py (--by: tracking/groups.py); this module only
reads the command line and writes the outputs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from wavenet_harness.base.errors import UsageError
from wavenet_harness.cli import OneLineArgumentParser, one_line_errors
from wavenet_harness.tracking.groups import build_groups, groups_csv, print_groups
from wavenet_harness.tracking.report import build_report, csv_text, json_text, print_table
from wavenet_harness.base.files import write_atomic
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
    parser.add_argument("--all", action="store_true",
                        help="every column (seconds, params, the model, full key names), not only those that tell "
                             "runs apart and the losses")
    parser.add_argument("--csv", metavar="PATH", help="also write the table as CSV ('-': standard output)")
    parser.add_argument("--json", metavar="PATH", help="also write the table as JSON ('-': standard output)")
    parser.add_argument("--by", metavar="KEY",
                        help="one row per group of runs that differ only in KEY (e.g. seed): mean ± sd of val and "
                             "test loss")
    return parser


def main(argv: list[str] | None = None) -> None:
    with one_line_errors(PROG):
        args = _parser().parse_args(argv)
        if args.csv == "-" and args.json == "-":
            raise UsageError("only one of --csv and --json can write to standard output ('-')")
        _check_destination(args.csv, "csv")
        _check_destination(args.json, "json")
        root = Path(args.sweep_dir)
        if not root.exists():
            raise UsageError(f"{root} does not exist")
        if not root.is_dir():
            raise UsageError(f"{root} is not a folder; give a multirun folder or a folder of runs")
        report = build_groups(root, args.by) if args.by else build_report(root)
        if "-" not in (args.csv, args.json):
            # A terminal's own width; piped or redirected, the 100 columns the table is made for
            # (--all: wider, so every column keeps a readable width).
            width = None if sys.stdout.isatty() else (200 if args.all else TABLE_WIDTH)
            if args.by:
                print_groups(report, Console(width=width))
            else:
                print_table(report, Console(width=width), everything=args.all)
        if args.csv:
            _write(args.csv, groups_csv(report) if args.by else csv_text(report))
        if args.json:
            _write(args.json, json_text(report))


if __name__ == "__main__":
    main()
