"""The experiment presets through the real `wavenet-train`, shortened to seconds."""

from __future__ import annotations

import math

import pytest

from helpers import TINY_OVERRIDES, read_metrics


@pytest.mark.parametrize("options", [[], ["model.dropout=0.2", "model.residual=true"]])
def test_cli_conv_trains_on_every_position_end_to_end(tmp_path, tiny_words_file, options, cli):
    run_dir = tmp_path / "run"
    proc = cli(
        ["experiment=fast", "model=conv", "fast=false", *TINY_OVERRIDES, "schedule.warmup_steps=10",
         f"data.path={tiny_words_file}", f"hydra.run.dir={run_dir}", *options],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    metrics = read_metrics(run_dir)
    assert metrics["status"] == "ok" and metrics["model"] == "conv" and metrics["steps"] == 60
    assert metrics["val_loss"] < 3.3  # below log(27): it learned from the words


def test_cli_tuned_preset_runs_end_to_end_at_full_size(tmp_path, tiny_words_file, cli):
    # experiment=tuned as shipped (its widths, dropout and residual on), only shortened
    run_dir = tmp_path / "run"
    proc = cli(
        ["experiment=tuned", "max_steps=40", "batch_size=8", "eval_interval=20", "checkpoint_interval=0",
         "schedule.warmup_steps=5", "log.progress=false", "threads=1",
         f"data.path={tiny_words_file}", f"hydra.run.dir={run_dir}"],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    metrics = read_metrics(run_dir)
    assert metrics["status"] == "ok" and metrics["model"] == "conv"
    assert metrics["steps"] == 40 and math.isfinite(metrics["val_loss"])


def test_cli_fast_preset_runs_the_fast_path_end_to_end(tmp_path, tiny_words_file, cli):
    run_dir = tmp_path / "run"
    proc = cli(
        ["experiment=fast", *TINY_OVERRIDES, "schedule.warmup_steps=10", f"data.path={tiny_words_file}",
         f"hydra.run.dir={run_dir}"],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    metrics = read_metrics(run_dir)
    assert metrics["status"] == "ok" and metrics["steps"] == 60
    assert metrics["fast"] is True and metrics["compiled"] is False
    assert metrics["val_loss"] < 3.3  # log(27) = 3.30: it learned something
