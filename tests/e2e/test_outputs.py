"""Tools never write over a run's files, and never block on a special file.

wavenet-report's --json/--csv (and the plot script's --out, tests/unit/test_curves.py) refuse any path inside a run
directory or a sweep folder, anything but a regular file, and an existing file of
another kind; what they write, they name exactly. A FIFO where a run's file should be
is reported as unreadable at once (opening one with no writer would wait forever).
"""

from __future__ import annotations

import json
import os

import pytest

from helpers import assert_one_error_line, make_run, numbers


@pytest.fixture
def run_dir(tmp_path):
    run = make_run(tmp_path, "run", ["lr=0.1"], **numbers(2.5))
    (run / "checkpoint.pt").write_bytes(b"a checkpoint's bytes")
    return run


def _files(folder):
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "option, target, message",
    [
        ("--json", "checkpoint.pt", "which holds a run or a sweep"),
        ("--csv", "metrics.json", "which holds a run or a sweep"),
        ("--json", ".hydra/new.json", "which holds a run or a sweep"),
        ("--csv", "../notes.txt", "exists and is not a .csv file"),
        ("--json", "..", "exists and is not a regular file"),
    ],
)
def test_report_outputs_never_write_over_a_run_or_another_kind_of_file(tmp_path, run_dir, cli, option, target, message):
    (tmp_path / "notes.txt").write_text("my notes\n")
    before = _files(tmp_path)
    result = cli.in_process("wavenet-report", [str(run_dir), option, str(run_dir / target)])
    assert_one_error_line(result.returncode, result.stderr, message, prog="wavenet-report")
    assert _files(tmp_path) == before


def test_report_names_what_it_wrote_and_rewrites_its_own_table(tmp_path, run_dir, cli):
    out = tmp_path / "table.json"
    for _ in range(2):  # the second run replaces its own earlier table
        result = cli.in_process("wavenet-report", [str(run_dir), "--json", str(out)])
        assert result.returncode == 0, result.stderr
        assert result.stderr.strip() == f"wrote {out}"
    assert json.loads(out.read_text())


def test_report_does_not_block_on_a_fifo_in_a_run_folder(tmp_path, cli):
    run = make_run(tmp_path, "run", ["lr=0.1"])
    os.mkfifo(run / "metrics.json")
    make_run(tmp_path, "ok", ["lr=0.2"], **numbers(2.4))
    result = cli([str(tmp_path), "--json", "-"], cwd=tmp_path, entry="wavenet-report", timeout=60)
    assert result.returncode == 0, result.stderr
    jobs = {job["job"]: job for job in json.loads(result.stdout)["jobs"]}
    assert jobs["ok"]["status"] == "ok" and jobs["run"]["status"] not in ("ok", "running")


def test_sample_and_eval_refuse_a_fifo_checkpoint_without_blocking(tmp_path, cli):
    run = tmp_path / "run"
    run.mkdir()
    os.mkfifo(run / "checkpoint.pt")
    for entry in ("wavenet-sample", "wavenet-eval"):
        result = cli([str(run)], cwd=tmp_path, entry=entry, timeout=120)
        assert_one_error_line(result.returncode, result.stderr, "checkpoint.pt is not a regular file", prog=entry)
