"""A sweep of exploding learning rates through the real CLI: diverged, never ok, valid JSON."""

from __future__ import annotations

import json

import pytest

from helpers import REPO, TINY_OVERRIDES, read_metrics


def strict_json(text: str):
    """json.loads that refuses NaN and Infinity, as every other JSON reader does."""
    return json.loads(text, parse_constant=lambda name: pytest.fail(f"not JSON: {name}"))


def test_a_sweep_with_exploding_learning_rates_reports_them_diverged(tmp_path, tiny_words_file, cli):
    sweep = tmp_path / "sweep"
    args = [
        "--multirun",
        *TINY_OVERRIDES,
        "max_steps=150",
        f"data.path={tiny_words_file}",
        "lr=0.1,1e2,1e9,1e15",
        f"hydra.sweep.dir={sweep}",
    ]
    result = cli(args, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "sweep: 4 jobs: 1 ok, 0 failed, 3 diverged" in result.stdout
    statuses = [read_metrics(sweep / str(n))["status"] for n in range(4)]
    assert statuses == ["ok", "diverged", "diverged", "diverged"]
    for n in range(4):
        strict_json((sweep / str(n) / "metrics.json").read_text())


def test_a_single_run_that_diverges_exits_non_zero(tmp_path, tiny_words_file, cli):
    run_dir = tmp_path / "run"
    result = cli(
        [*TINY_OVERRIDES, "max_steps=150", f"data.path={tiny_words_file}", "lr=1e9", f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert read_metrics(run_dir)["status"] == "diverged" and "Traceback" not in result.stderr
