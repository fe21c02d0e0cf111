"""The report table (tracking/report.py) on hand-made run folders."""

from __future__ import annotations

from helpers import make_run, numbers
from wavenet_harness.tracking import report


def test_report_ranks_runs_and_keeps_only_distinguishing_overrides(sweep):
    result = report.build_report(sweep)
    assert result["override_keys"] == ["n_hidden", "lr"]
    assert [row["job"] for row in result["jobs"]] == ["1", "10", "0", "2", "3", "11"]
    assert [row["status"] for row in result["jobs"]] == ["ok", "ok", "ok", "running", "diverged", "no metrics"]
    best = result["jobs"][0]
    assert (best["n_hidden"], best["lr"], best["val_loss"], best["params"]) == ("16", "0.1", 2.30, 641)
    assert result["best"] == {"job": "1", "val_loss": 2.30,
                              "command": "wavenet-train max_steps=100 data.path=words.txt n_hidden=16 lr=0.1"}


def test_unreadable_metrics_is_a_row_not_a_crash(tmp_path):
    make_run(tmp_path, "0", ["n_hidden=8"], **numbers(2.0))
    (make_run(tmp_path, "1", ["n_hidden=9"]) / "metrics.json").write_text("{not json")
    rows = report.build_report(tmp_path)["jobs"]
    assert [(r["job"], r["status"]) for r in rows] == [("0", "ok"), ("1", "unreadable")]


def test_runs_of_different_models_rank_side_by_side_with_their_model_and_params(tmp_path):
    make_run(tmp_path, "conv", ["model=conv", "n_hidden=207"], model="conv", **dict(numbers(1.95), params=120_000))
    make_run(tmp_path, "gru", ["model=gru", "n_hidden=224"], model="gru", **dict(numbers(1.93), params=170_000))
    make_run(tmp_path, "transformer", ["model=transformer"])  # started: its model from the override
    result = report.build_report(tmp_path)
    assert "model" not in result["override_keys"]  # it has its own column
    rows = [(r["job"], r["model"], r["params"], r["val_loss"]) for r in result["jobs"]]
    assert rows == [("gru", "gru", 170_000, 1.93), ("conv", "conv", 120_000, 1.95), ("transformer", "transformer", None, None)]
    assert report.csv_text(result).splitlines()[0] == (
        "job,model,n_hidden,status,steps,max_steps,seconds,params,train_loss,val_loss")


def test_a_boolean_spelled_as_a_sweep_job_records_it_is_the_same_value(tmp_path):
    # a multirun job's overrides.yaml holds log.progress=False, a single run's log.progress=false
    make_run(tmp_path, "single", ["log.progress=false", "n_hidden=8"], **numbers(2.0))
    make_run(tmp_path, "job", ["log.progress=False", "n_hidden=9"], **numbers(2.1))
    result = report.build_report(tmp_path)
    assert result["override_keys"] == ["n_hidden"]


def test_an_override_of_a_metrics_column_is_not_a_second_column(tmp_path):
    # max_steps is both an override and metrics.json's own field: one column, not two
    make_run(tmp_path, "short", ["max_steps=100", "n_hidden=8"], **dict(numbers(2.0), max_steps=100))
    make_run(tmp_path, "long", ["max_steps=200", "n_hidden=8"], **dict(numbers(1.9), max_steps=200))
    result = report.build_report(tmp_path)
    assert result["override_keys"] == []
    assert [row["max_steps"] for row in result["jobs"]] == [200, 100]
    assert report.csv_text(result).splitlines()[0].split(",").count("max_steps") == 1


def test_a_job_short_of_its_end_shows_how_far_it_got():
    assert report._steps_cell({"status": "pruned", "steps": 3000, "max_steps": 8000}) == "3,000 / 8,000"
    assert report._steps_cell({"status": "running", "steps": 1500, "max_steps": 6000}) == "1,500 / 6,000"
    assert report._steps_cell({"status": "ok", "steps": 8000, "max_steps": 8000}) == "8,000"
    assert report._steps_cell({"status": "no metrics", "steps": None, "max_steps": None}) == "-"


def test_the_table_rounds_sampled_floats_and_leaves_other_values_as_given():
    assert report._override_cell("0.21539834816417347") == "0.2154"
    assert report._override_cell("1e-05") == "1e-05"
    assert [report._override_cell(v) for v in ("128", "layer", "none", "-", "a.b")] == ["128", "layer", "none", "-", "a.b"]
