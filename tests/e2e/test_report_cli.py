"""wavenet-report on hand-made run folders, and both console scripts on a real two-job multirun."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest

from helpers import TINY_OVERRIDES, make_run, numbers, read_metrics
from wavenet_harness.tracking import report
from wavenet_harness.tracking.report_table import wrapped_command


def test_report_csv_and_json_hold_the_same_table(sweep, cli):
    table = cli.in_process(
        "wavenet-report", [str(sweep), "--csv", str(sweep / "r.csv"), "--json", str(sweep / "r.json")]
    ).stdout
    assert "6 runs in" in table and "running" in table
    assert "wavenet-train max_steps=100 data.path=words.txt n_hidden=16 lr=0.1" in table

    rows = list(csv.DictReader(io.StringIO((sweep / "r.csv").read_text())))
    assert list(rows[0]) == [
        "job",
        "model",
        "n_hidden",
        "lr",
        "status",
        "steps",
        "max_steps",
        "seconds",
        "params",
        "train_loss",
        "val_loss",
    ]
    assert [(r["job"], r["val_loss"]) for r in rows] == [
        ("1", "2.3"),
        ("10", "2.4"),
        ("0", "2.5"),
        ("2", ""),
        ("3", ""),
        ("11", ""),
    ]
    as_json = json.loads((sweep / "r.json").read_text())
    assert as_json == report.build_report(sweep)

    stdout = cli.in_process("wavenet-report", [str(sweep), "--json", "-"]).stdout
    assert json.loads(stdout)["best"]["job"] == "1"  # nothing but JSON on stdout


def test_report_while_nothing_has_finished(tmp_path, cli):
    make_run(tmp_path, "0", ["n_hidden=8"], **numbers(status="running"))
    out = cli.in_process("wavenet-report", [str(tmp_path)]).stdout
    assert "running" in out and "no run has finished yet" in out


def test_a_running_job_shows_its_step_out_of_max_steps_and_last_val_loss(tmp_path, cli):
    make_run(tmp_path, "0", ["n_hidden=8"], **numbers(2.25))
    make_run(
        tmp_path,
        "1",
        ["n_hidden=9"],
        status="running",
        steps=1500,
        max_steps=6000,
        seconds=12.0,
        params=641,
        train_loss=None,
        val_loss=2.4567,
    )
    out = cli.in_process("wavenet-report", [str(tmp_path)]).stdout
    (running,) = [line for line in out.splitlines() if " running " in line]
    assert "1,500 / 6,000" in running and "2.4567" in running
    assert report.build_report(tmp_path)["jobs"][1]["max_steps"] == 6000


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["{tmp}/nowhere"], "does not exist"),
        (["{tmp}"], "no runs under"),
        (["{tmp}/file.txt"], "is not a folder"),
        (["{tmp}", "--csv", "-", "--json", "-"], "only one of"),
        ([], "the following arguments are required"),
    ],
)
def test_report_bad_input_is_one_line_and_exit_2(tmp_path, cli, argv, expected):
    (tmp_path / "file.txt").write_text("x")
    code, out, err = cli.in_process("wavenet-report", [a.format(tmp=tmp_path) for a in argv])
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and expected in err and err.startswith("wavenet-report: error:")


def test_two_job_multirun_through_the_console_scripts(tmp_path, tiny_words_file, monkeypatch, cli):
    """A real sweep: wavenet-train --multirun, then wavenet-report and wavenet-sample on it."""
    train = cli(["--multirun", f"data.path={tiny_words_file}", *TINY_OVERRIDES, "lr=0.1,0.3"], cwd=tmp_path)
    assert train.returncode == 0, train.stderr[-2000:]
    (sweep_dir,) = [p for p in (tmp_path / "runs" / "multirun").glob("*/*") if p.is_dir()]
    jobs = {p.name: read_metrics(p) for p in sweep_dir.iterdir() if (p / "metrics.json").exists()}
    assert sorted(jobs) == ["0", "1"] and all(m["status"] == "ok" for m in jobs.values())

    out = cli(
        [str(sweep_dir), "--csv", str(tmp_path / "r.csv"), "--json", str(tmp_path / "r.json")],
        cwd=tmp_path,
        entry="wavenet-report",
    )
    assert out.returncode == 0, out.stderr
    best = min(jobs, key=lambda name: jobs[name]["val_loss"])
    as_json = json.loads((tmp_path / "r.json").read_text())
    assert as_json["override_keys"] == ["lr"]
    assert [row["job"] for row in as_json["jobs"]] == sorted(jobs, key=lambda name: jobs[name]["val_loss"])
    for row in as_json["jobs"]:
        metrics = jobs[row["job"]]
        assert (row["val_loss"], row["train_loss"], row["params"], row["steps"]) == (
            metrics["val_loss"],
            metrics["train_loss"],
            metrics["params"],
            60,
        )
    assert as_json["best"]["job"] == best
    rerun = as_json["best"]["command"]
    assert rerun.startswith("wavenet-train ") and f"lr={0.1 if best == '0' else 0.3}" in rerun
    assert wrapped_command(rerun) in out.stdout and "lr" in out.stdout  # split into lines that paste as one
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    assert [(r["job"], r["lr"]) for r in rows] == [(row["job"], row["lr"]) for row in as_json["jobs"]]
    assert all(math.isclose(float(r["val_loss"]), jobs[r["job"]]["val_loss"]) for r in rows)

    as_json = cli([str(sweep_dir / "0"), "-n", "5", "--json"], cwd=tmp_path, entry="wavenet-sample")
    assert as_json.returncode == 0, as_json.stderr
    samples = json.loads(as_json.stdout)["samples"]
    assert len(samples) == 5 and all(set(s["word"]) <= set("abcdefghijklmnopqrstuvwxyz") for s in samples)
    # the same words as text (in this process: one more subprocess would only cost time)
    monkeypatch.chdir(tmp_path)
    lines = cli.in_process("wavenet-sample", [str(sweep_dir / "0"), "-n", "5"]).stdout.splitlines()
    assert [line.split()[0] if line.strip() else "" for line in lines[:5]] == [s["word"] for s in samples]
    assert [line.endswith("  new") for line in lines[:5]] == [s["new"] for s in samples]
    assert lines[5].startswith(f"{sum(s['new'] for s in samples)} of 5 new (")
