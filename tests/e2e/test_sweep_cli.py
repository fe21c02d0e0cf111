"""Multiruns through the real `wavenet-train`: failures are results, the exit code, launchers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import REPO, TINY_OVERRIDES


def _statuses(sweep_dir: Path) -> dict[float, dict]:
    """lr of each job (as a number: Hydra writes 1e30 as 1e+30) -> its metrics."""
    found = {}
    for metrics_file in sweep_dir.glob("*/metrics.json"):
        overrides = (metrics_file.parent / ".hydra" / "overrides.yaml").read_text()
        lr = next(line.split("=", 1)[1] for line in overrides.splitlines() if line.startswith("- lr="))
        found[float(lr)] = json.loads(metrics_file.read_text())
    return found


def test_parallel_sweep_records_failed_and_diverged_jobs_and_goes_on(tmp_path, tiny_words_file, cli):
    sweep_dir = tmp_path / "sweep"
    result = cli(
        [
            "--multirun",
            "hydra/launcher=parallel",
            "hydra.launcher.n_jobs=2",
            *TINY_OVERRIDES,
            "threads=0",
            f"data.path={tiny_words_file}",
            f"hydra.sweep.dir={sweep_dir}",
            "lr=0.1,1e30,-1",
        ],
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = _statuses(sweep_dir)
    assert jobs[0.1]["status"] == "ok" and jobs[0.1]["val_loss"] < 3.5
    assert jobs[1e30]["status"] == "diverged" and "NaN or infinite" in jobs[1e30]["error"]
    assert jobs[-1.0]["status"] == "failed" and "lr=-1" in jobs[-1.0]["error"]
    assert "sweep: 3 jobs: 1 ok, 1 failed, 1 diverged, 0 pruned" in result.stdout
    assert "Traceback" not in result.stderr


def test_sweep_exits_non_zero_only_when_every_job_failed(tmp_path, tiny_words_file, cli):
    sweep_dir = tmp_path / "sweep"
    result = cli(
        ["--multirun", *TINY_OVERRIDES, f"data.path={tiny_words_file}", f"hydra.sweep.dir={sweep_dir}", "lr=-1,-2"],
        cwd=REPO,
    )
    assert result.returncode == 1
    assert {m["status"] for m in _statuses(sweep_dir).values()} == {"failed"}
    assert "sweep: 2 jobs: 0 ok, 2 failed" in result.stdout
    assert "every job of the sweep failed" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow  # submitit starts a fresh Python per job: well over 20 s on a busy 2-core machine
def test_submitit_local_sweep(tmp_path, tiny_words_file, cli):
    sweep_dir = tmp_path / "sweep"
    result = cli(
        [
            "--multirun",
            "hydra/launcher=submitit_local",
            *TINY_OVERRIDES,
            f"data.path={tiny_words_file}",
            f"hydra.sweep.dir={sweep_dir}",
            "lr=0.1,0.2",
        ],
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert {lr: m["status"] for lr, m in _statuses(sweep_dir).items()} == {0.1: "ok", 0.2: "ok"}
    assert (sweep_dir / ".submitit").is_dir()
    assert "sweep: 2 jobs: 2 ok" in result.stdout
