"""The report (tracking/report.py) and its terminal table (tracking/report_table.py) on hand-made run folders."""

from __future__ import annotations

import io
import shlex
from pathlib import Path

from rich.console import Console

from helpers import make_run, numbers
from wavenet_harness.tracking import report, report_table


def test_report_ranks_runs_and_keeps_only_distinguishing_overrides(sweep):
    result = report.build_report(sweep)
    assert result["override_keys"] == ["n_hidden", "lr"]
    assert [row["job"] for row in result["jobs"]] == ["1", "10", "0", "2", "3", "11"]
    assert [row["status"] for row in result["jobs"]] == ["ok", "ok", "ok", "running", "diverged", "no metrics"]
    best = result["jobs"][0]
    assert (best["n_hidden"], best["lr"], best["val_loss"], best["params"]) == ("16", "0.1", 2.30, 641)
    assert result["best"] == {
        "job": "1",
        "val_loss": 2.30,
        "command": "wavenet-train max_steps=100 data.path=words.txt n_hidden=16 lr=0.1",
    }


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
    assert rows == [
        ("gru", "gru", 170_000, 1.93),
        ("conv", "conv", 120_000, 1.95),
        ("transformer", "transformer", None, None),
    ]
    assert report.csv_text(result).splitlines()[0] == (
        "job,model,n_hidden,status,steps,max_steps,seconds,params,train_loss,val_loss"
    )


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
    assert report_table._steps_cell({"status": "pruned", "steps": 3000, "max_steps": 8000}) == "3,000 / 8,000"
    assert report_table._steps_cell({"status": "running", "steps": 1500, "max_steps": 6000}) == "1,500 / 6,000"
    assert report_table._steps_cell({"status": "ok", "steps": 8000, "max_steps": 8000}) == "8,000"
    assert report_table._steps_cell({"status": "no metrics", "steps": None, "max_steps": None}) == "-"


def test_the_table_rounds_sampled_floats_and_leaves_other_values_as_given():
    assert report_table._override_cell("0.21539834816417347") == "0.2154"
    assert report_table._override_cell("1e-05") == "1e-05"
    assert [report_table._override_cell(v) for v in ("128", "layer", "none", "-", "a.b")] == [
        "128",
        "layer",
        "none",
        "-",
        "a.b",
    ]


def _search(root):
    """Eight keys sampled by a search, long floats and long names: the widest table there is."""
    for trial in range(6):
        values = [
            f"n_embd={24 + 8 * trial}",
            f"n_hidden={96 + 31 * trial}",
            f"depth={3 + trial % 2}",
            f"model.dropout={0.0123456789 * (trial + 1)}",
            f"model.residual={'true' if trial % 2 else 'false'}",
            f"lr={0.00169942842868 * (trial + 1)}",
            f"optim.weight_decay={0.0212345678 * (trial + 1)}",
            f"batch_size={32 * (trial + 1)}",
        ]
        status = "pruned" if trial == 4 else "ok"
        make_run(
            root,
            str(trial),
            ["hparams_search=conv_optuna", *values],
            **dict(
                numbers(2.0 + trial / 100, status=status),
                steps=3000 if status == "pruned" else 8000,
                max_steps=8000,
                params=123_456 + trial,
                seconds=1234.5,
            ),
        )


def _printed(result, everything=False, width=100) -> list[str]:
    out = io.StringIO()
    report_table.print_table(result, Console(file=out, width=width), everything=everything)
    return out.getvalue().splitlines()


def test_the_default_table_fits_100_columns_with_every_differing_key_and_no_cell_cut(tmp_path):
    _search(tmp_path)
    result = report.build_report(tmp_path)
    lines = _printed(result)
    table = lines[: lines.index(next(line for line in lines if line.startswith("best:")))]
    assert max(len(line) for line in table) <= 100
    assert not any("…" in line for line in table)
    rule = next(i for i, line in enumerate(table) if "───" in line)
    header_words = set(" ".join(table[1:rule]).split())  # a long header wraps at its words
    for name in ("n_embd", "n_hidden", "depth", "dropout", "residual", "lr", "weight_decay", "batch_size", "val_loss"):
        assert set(name.split("_")) <= header_words, name
    assert not {"seconds", "params", "model"} & header_words  # --all shows those
    assert any("0.0017" in line for line in table) and any("3,000 / 8,000" in line for line in table)


def test_all_shows_every_column(tmp_path):
    _search(tmp_path)
    printed = "\n".join(_printed(report.build_report(tmp_path), everything=True, width=250))
    for column in ("model", "seconds", "params", "optim.weight_decay", "model.dropout", "train loss", "val loss"):
        assert column in printed, column


def _mixed(root):
    """runs/ as it grows: a grid, a search (its jobs linked to their trials, one pruned) and a
    single run outside any sweep."""
    grid = root / "multirun" / "2026-12-07" / "10-00-00-abc123"
    grid.mkdir(parents=True)
    (grid / "multirun.yaml").write_text("hydra: {}\n")
    for job, lr in enumerate(("0.1", "0.3")):
        make_run(grid, str(job), ["max_steps=60", f"lr={lr}", f"hydra.sweep.subdir={job}"], **numbers(2.2 + job / 10))
    search = root / "sweeps" / "conv_optuna"
    search.mkdir(parents=True)
    (search / "optuna.journal").write_text("")
    _search(search)
    for trial in range(6):  # the links to their trials, as the sweeper writes them (the older +optuna.* too)
        plus = "+" if trial == 5 else "++"
        overrides = search / str(trial) / ".hydra" / "overrides.yaml"
        overrides.write_text(
            overrides.read_text()
            + "".join(
                f"- {plus}optuna.{k}\n"
                for k in (f"storage='{search}/optuna.journal'", "study='conv_optuna'", f"trial={trial}")
            )
        )
    make_run(root / "2026-12-07", "11-00-00-def456", ["n_hidden=128"], **numbers(2.05))
    return grid, search


def test_a_folder_of_sweeps_prints_a_table_per_sweep_within_100_columns(tmp_path, monkeypatch):
    _mixed(tmp_path / "runs")
    monkeypatch.chdir(tmp_path)
    result = report.build_report(Path("runs"))
    assert not [key for key in result["override_keys"] if key.startswith(("optuna.", "hydra."))]
    lines = _printed(result)
    assert max(len(line) for line in lines) <= 100
    assert not any("…" in line for line in lines)
    titles = [line for line in lines if " runs in " in line or " run " in line]
    assert titles == [
        "9 runs in runs: a table per sweep, each with the keys that differ within it",
        "6 runs in sweeps/conv_optuna",
        "1 run outside any sweep",
        "2 runs in multirun/2026-12-07/10-00-00-abc123",
    ]
    words = set(" ".join(lines).split())
    assert not {"storage", "study", "trial", "subdir"} & words  # never a column
    for row in result["jobs"]:  # every value whole, on its job's line
        name = report_table.job_name(row)
        (line,) = [
            line
            for line in lines
            if line.startswith(f" {name} ") and report_table._fmt("val_loss", row["val_loss"]) in line
        ]
        assert report_table._steps_cell(row) in line and report_table._fmt("train_loss", row["train_loss"]) in line
    pruned = next(row for row in result["jobs"] if row["status"] == "pruned")
    assert pruned["val_loss"] == 2.04  # its last val loss, from metrics.json


def test_keys_that_do_not_fit_are_left_out_with_a_line_naming_them(tmp_path):
    _search(tmp_path)
    lines = _printed(report.build_report(tmp_path), width=72)
    assert max(len(line) for line in lines) <= 72
    (note,) = [line for line in lines if line.startswith("left out for width:")]
    left_out = note.removeprefix("left out for width: ").partition(" (")[0].split(", ")
    assert left_out and left_out[-1] == "batch_size"  # the last keys go first
    header = " ".join(lines[1 : next(i for i, line in enumerate(lines) if "───" in line)])
    assert all(name.split("_")[0] not in header.split() for name in left_out if name != "lr")


def test_a_long_rerun_command_is_split_into_lines_that_paste_as_the_same_command():
    command = shlex.join(["wavenet-train", "data.path=/a folder/words.txt", *(f"key{i}=value{i}" for i in range(30))])
    chained = command + " && " + command
    for text in (command, chained):
        lines = report_table.wrapped_command(text, 60).splitlines()
        assert max(len(line) for line in lines) <= 60 and all(line.endswith(" \\") for line in lines[:-1])
        assert shlex.split(" ".join(line.rstrip("\\") for line in lines)) == shlex.split(text)
