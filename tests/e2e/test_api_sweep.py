"""wavenet_harness.sweep(): a grid and an Optuna search from Python, run by `wavenet-train --multirun`
itself, with its launchers (parallel jobs), failures as results, one-line mistakes, and a stop
resumed bit for bit."""

from __future__ import annotations

import threading
import time

import pytest

import wavenet_harness as wh
from helpers import TINY_OVERRIDES, read_metrics, write_tiny_words

JOB = [*TINY_OVERRIDES, "data.path=words.txt"]


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_tiny_words(tmp_path)
    return tmp_path


def test_a_grid_runs_as_the_multirun_does_its_failures_are_results(workspace, capsys):
    grid = wh.sweep(*JOB, n_hidden=[8, 16], lr=[0.1, -1], n_jobs=2, sweep_dir="grid")
    assert grid.dir == workspace / "grid" and (grid.dir / "multirun.yaml").is_file()
    out = capsys.readouterr().out
    assert "sweep: 4 jobs: 2 ok, 2 failed" in out  # the CLI's own end-of-sweep screen, shown as it came
    assert [run.status for run in grid.runs] == ["ok", "failed", "ok", "failed"]
    assert grid.runs[1].record.error == "lr=-1.0 is not allowed: lr must be a positive finite number"
    rows = grid.table()
    rows = rows.to_dict("records") if hasattr(rows, "to_dict") else rows
    assert [(r["n_hidden"], r["lr"], r["status"]) for r in rows][:2] == [("16", "0.1", "ok"), ("8", "0.1", "ok")]
    assert grid.best == grid.runs[2] and grid.best.val_loss < grid.runs[0].val_loss
    # a job of a sweep is the single run with the same overrides, bit for bit (joblib's workers included)
    single = wh.train(*JOB, n_hidden=16, lr=0.1, run_dir="single")
    job = read_metrics(grid.best.dir)
    assert (job["train_loss"], job["val_loss"]) == (single.train_loss, single.val_loss)
    assert repr(grid).startswith("Sweep('grid', 4 jobs: 2 ok, 2 failed; best val")
    ax = grid.plot()  # the failed jobs never logged a curve
    assert [line.get_label() for line in ax.get_lines()] == ["n_hidden=16 lr=0.1", "n_hidden=8 lr=0.1"]


def test_a_search_and_its_mistakes(workspace, capsys):
    search = wh.sweep(
        *JOB,
        "hydra.sweeper.sampler.seed=0",
        "hydra.sweeper.params.schedule.choices=[step]",
        search="hier_optuna",
        n_trials=2,
        sweep_dir="search",
    )
    assert (search.dir / "optuna.journal").is_file() and len(search.runs) == 2
    assert all(run.status in ("ok", "pruned") for run in search.runs)
    assert all(any(o.startswith("++optuna.trial=") for o in run.record.overrides) for run in search.runs)
    finished = [run.val_loss for run in search.runs if run.status == "ok"]
    assert search.best.val_loss == min(finished)
    capsys.readouterr()
    with pytest.raises(wh.ConfigError, match="model=nope is not allowed: choose one of"):  # composed here, at once
        wh.sweep(*JOB, "model=nope", n_hidden=[8, 16])
    with pytest.raises(wh.UserError, match=r"^n_hiden is not a config key; did you mean n_hidden\?"):  # the CLI's line
        wh.sweep(*JOB, n_hiden=[8, 16], sweep_dir="typo")
    assert "n_hiden is not a config key" not in capsys.readouterr().err  # raised, not also printed
    with pytest.raises(wh.UserError, match="^search holds an Optuna search; a sweep cannot continue it there"):
        wh.sweep(*JOB, n_hidden=[8, 16], sweep_dir="search")
    with pytest.raises(wh.UsageError, match="n_trials=3 is for a search"):
        wh.sweep(*JOB, n_hidden=[8, 16], n_trials=3)


def test_a_stopped_sweep_resumes_bit_for_bit(workspace):
    job = [o for o in JOB if not o.startswith(("max_steps=", "checkpoint_interval="))]
    job += ["max_steps=1500", "checkpoint_interval=50"]
    outcome: dict[str, BaseException] = {}

    def background() -> None:
        try:
            wh.sweep(*job, n_hidden=[8, 16], sweep_dir="stopped")
        except BaseException as err:  # noqa: BLE001 - handed to the test's thread
            outcome["raised"] = err

    thread = threading.Thread(target=background)
    thread.start()
    deadline = time.monotonic() + 120
    while not (workspace / "stopped" / "0" / "checkpoint.pt").exists():
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.005)
    assert wh.stop() == 1  # the sweep's process group gets SIGINT, as from a terminal
    thread.join(timeout=120)
    stop = outcome["raised"]
    assert isinstance(stop, wh.Interrupted) and stop.sweep.runs[0].status == "interrupted", stop
    assert "sweep_dir=" in str(stop) and "resume=True" in str(stop)
    resumed = wh.sweep(*job, n_hidden=[8, 16], sweep_dir="stopped", resume=True)
    assert [run.status for run in resumed.runs] == ["ok", "ok"]
    whole = wh.train(*job, n_hidden=8, run_dir="whole")
    assert (resumed.runs[0].train_loss, resumed.runs[0].val_loss) == (whole.train_loss, whole.val_loss)
