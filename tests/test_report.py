"""wavenet-report on hand-made run folders, and both console scripts on a real two-job multirun."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest
from conftest import TINY_OVERRIDES, read_metrics, run_cli

from wavenet_harness.tracking import report
from wavenet_harness.models import sampling as sample


def make_run(root: Path, name: str, overrides: list[str], **metrics) -> Path:
    run_dir = root / name
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if metrics:
        (run_dir / "metrics.json").write_text(json.dumps(metrics))
    return run_dir


def numbers(val_loss=None, status="ok"):
    return dict(status=status, steps=100, seconds=1.5, params=641, train_loss=None if val_loss is None else val_loss - 0.1,
                val_loss=val_loss)


@pytest.fixture
def sweep(tmp_path) -> Path:
    common = ["max_steps=100", "data.path=words.txt"]
    make_run(tmp_path, "0", [*common, "n_hidden=8", "lr=0.1"], **numbers(2.50))
    make_run(tmp_path, "1", [*common, "n_hidden=16", "lr=0.1"], **numbers(2.30))
    make_run(tmp_path, "2", [*common, "n_hidden=32", "lr=0.1"], **numbers(status="running"))
    make_run(tmp_path, "3", [*common, "n_hidden=64", "lr=0.1"], **numbers(status="diverged"))
    make_run(tmp_path, "10", [*common, "n_hidden=8", "lr=0.05"], **numbers(2.40))
    make_run(tmp_path, "11", [*common, "n_hidden=8", "lr=0.05"])  # started, no metrics.json yet
    return tmp_path


def test_report_ranks_runs_and_keeps_only_distinguishing_overrides(sweep):
    result = report.build_report(sweep)
    assert result["override_keys"] == ["n_hidden", "lr"]
    assert [row["job"] for row in result["jobs"]] == ["1", "10", "0", "2", "3", "11"]
    assert [row["status"] for row in result["jobs"]] == ["ok", "ok", "ok", "running", "diverged", "no metrics"]
    best = result["jobs"][0]
    assert (best["n_hidden"], best["lr"], best["val_loss"], best["params"]) == ("16", "0.1", 2.30, 641)
    assert result["best"] == {"job": "1", "val_loss": 2.30,
                              "command": "wavenet-train max_steps=100 data.path=words.txt n_hidden=16 lr=0.1"}


def test_report_csv_and_json_hold_the_same_table(sweep, capsys):
    report.main([str(sweep), "--csv", str(sweep / "r.csv"), "--json", str(sweep / "r.json")])
    table = capsys.readouterr().out
    assert "6 runs in" in table and "running" in table
    assert "wavenet-train max_steps=100 data.path=words.txt n_hidden=16 lr=0.1" in table

    rows = list(csv.DictReader(io.StringIO((sweep / "r.csv").read_text())))
    assert list(rows[0]) == ["job", "n_hidden", "lr", "status", "steps", "seconds", "params", "train_loss", "val_loss"]
    assert [(r["job"], r["val_loss"]) for r in rows] == [
        ("1", "2.3"), ("10", "2.4"), ("0", "2.5"), ("2", ""), ("3", ""), ("11", "")]
    as_json = json.loads((sweep / "r.json").read_text())
    assert as_json == report.build_report(sweep)

    report.main([str(sweep), "--json", "-"])
    assert json.loads(capsys.readouterr().out)["best"]["job"] == "1"  # nothing but JSON on stdout


def test_report_while_nothing_has_finished(tmp_path, capsys):
    make_run(tmp_path, "0", ["n_hidden=8"], **numbers(status="running"))
    report.main([str(tmp_path)])
    out = capsys.readouterr().out
    assert "running" in out and "no run has finished yet" in out


@pytest.mark.parametrize("argv, expected", [
    (["{tmp}/nowhere"], "does not exist"),
    (["{tmp}"], "no runs under"),
    (["{tmp}/file.txt"], "is not a folder"),
    (["{tmp}", "--csv", "-", "--json", "-"], "only one of"),
    ([], "the following arguments are required"),
])
def test_report_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, expected):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(SystemExit) as exit:
        report.main([a.format(tmp=tmp_path) for a in argv])
    out, err = capsys.readouterr()
    assert exit.value.code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and expected in err and err.startswith("wavenet-report: error:")


def test_unreadable_metrics_is_a_row_not_a_crash(tmp_path):
    make_run(tmp_path, "0", ["n_hidden=8"], **numbers(2.0))
    (make_run(tmp_path, "1", ["n_hidden=9"]) / "metrics.json").write_text("{not json")
    rows = report.build_report(tmp_path)["jobs"]
    assert [(r["job"], r["status"]) for r in rows] == [("0", "ok"), ("1", "unreadable")]


def test_two_job_multirun_through_the_console_scripts(tmp_path, tiny_words_file, monkeypatch, capsys):
    """A real sweep: wavenet-train --multirun, then wavenet-report and wavenet-sample on it."""
    train = run_cli(["--multirun", f"data.path={tiny_words_file}", *TINY_OVERRIDES, "lr=0.1,0.3"], cwd=tmp_path)
    assert train.returncode == 0, train.stderr[-2000:]
    (sweep_dir,) = [p for p in (tmp_path / "runs" / "multirun").glob("*/*") if p.is_dir()]
    jobs = {p.name: read_metrics(p) for p in sweep_dir.iterdir() if (p / "metrics.json").exists()}
    assert sorted(jobs) == ["0", "1"] and all(m["status"] == "ok" for m in jobs.values())

    out = run_cli([str(sweep_dir), "--csv", str(tmp_path / "r.csv"), "--json", str(tmp_path / "r.json")],
                  cwd=tmp_path, entry="wavenet-report")
    assert out.returncode == 0, out.stderr
    best = min(jobs, key=lambda name: jobs[name]["val_loss"])
    as_json = json.loads((tmp_path / "r.json").read_text())
    assert as_json["override_keys"] == ["lr"]
    assert [row["job"] for row in as_json["jobs"]] == sorted(jobs, key=lambda name: jobs[name]["val_loss"])
    for row in as_json["jobs"]:
        metrics = jobs[row["job"]]
        assert (row["val_loss"], row["train_loss"], row["params"], row["steps"]) == (
            metrics["val_loss"], metrics["train_loss"], metrics["params"], 60)
    assert as_json["best"]["job"] == best
    rerun = as_json["best"]["command"]
    assert rerun.startswith("wavenet-train ") and f"lr={0.1 if best == '0' else 0.3}" in rerun
    assert rerun in out.stdout and "lr" in out.stdout
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    assert [(r["job"], r["lr"]) for r in rows] == [(row["job"], row["lr"]) for row in as_json["jobs"]]
    assert all(math.isclose(float(r["val_loss"]), jobs[r["job"]]["val_loss"]) for r in rows)

    as_json = run_cli([str(sweep_dir / "0"), "-n", "5", "--json"], cwd=tmp_path, entry="wavenet-sample")
    assert as_json.returncode == 0, as_json.stderr
    samples = json.loads(as_json.stdout)["samples"]
    assert len(samples) == 5 and all(set(s["word"]) <= set("abcdefghijklmnopqrstuvwxyz") for s in samples)
    # the same words as text (in this process: one more subprocess would only cost time)
    monkeypatch.chdir(tmp_path)
    sample.main([str(sweep_dir / "0"), "-n", "5"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] if line.strip() else "" for line in lines[:5]] == [s["word"] for s in samples]
    assert [line.endswith("  new") for line in lines[:5]] == [s["new"] for s in samples]
    assert lines[5].startswith(f"{sum(s['new'] for s in samples)} of 5 new (")
