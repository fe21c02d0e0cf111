"""The experiment presets through the real `wavenet-train`, shortened to seconds."""

from __future__ import annotations

import math

import pytest

from helpers import REPO, TINY_OVERRIDES, read_metrics


@pytest.mark.parametrize("options", [[], ["model.dropout=0.2", "model.residual=true"]])
def test_cli_conv_trains_on_every_position_end_to_end(tmp_path, tiny_words_file, options, cli):
    run_dir = tmp_path / "run"
    proc = cli(
        [
            "experiment=fast",
            "model=conv",
            "fast=false",
            *TINY_OVERRIDES,
            "schedule.warmup_steps=10",
            f"data.path={tiny_words_file}",
            f"hydra.run.dir={run_dir}",
            *options,
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    metrics = read_metrics(run_dir)
    assert metrics["status"] == "ok" and metrics["model"] == "conv" and metrics["steps"] == 60
    assert metrics["val_loss"] < 3.3  # below log(27): it learned from the words


TUNED_PRESETS = {
    "tuned": "conv",
    "tuned_conv": "conv",
    "tuned_wavenet": "wavenet",
    "tuned_gru": "gru",
    "tuned_transformer": "transformer",
    "tuned_transformer_long": "transformer",
}


def test_every_shipped_tuned_preset_is_tested():
    shipped = {path.stem for path in (REPO / "conf" / "experiment").glob("tuned*.yaml")}
    assert shipped == set(TUNED_PRESETS)


@pytest.mark.parametrize("preset", sorted(TUNED_PRESETS))
def test_cli_tuned_preset_runs_end_to_end_at_full_size(tmp_path, tiny_words_file, cli, preset):
    # each experiment=tuned* as shipped (its widths and dropout), only shortened: its warmup scales
    run_dir = tmp_path / "run"
    proc = cli(
        [
            f"experiment={preset}",
            "max_steps=40",
            "batch_size=8",
            "eval_interval=20",
            "checkpoint_interval=0",
            "log.progress=false",
            "threads=1",
            f"data.path={tiny_words_file}",
            f"hydra.run.dir={run_dir}",
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "wavenet-train: note: schedule.warmup_steps=200 scaled to 4 (10% of max_steps=40)" in proc.stderr
    metrics = read_metrics(run_dir)
    assert metrics["status"] == "ok" and metrics["model"] == TUNED_PRESETS[preset]
    assert metrics["steps"] == 40 and math.isfinite(metrics["val_loss"])
    assert 100_000 <= metrics["params"] <= 400_000  # the zoo's fair-comparison bounds


def test_cli_fast_preset_runs_the_fast_path_end_to_end(tmp_path, tiny_words_file, cli):
    run_dir = tmp_path / "run"
    proc = cli(
        [
            "experiment=fast",
            *TINY_OVERRIDES,
            "schedule.warmup_steps=10",
            f"data.path={tiny_words_file}",
            f"hydra.run.dir={run_dir}",
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    metrics = read_metrics(run_dir)
    assert metrics["status"] == "ok" and metrics["steps"] == 60
    assert metrics["fast"] is True and metrics["compiled"] is False
    assert metrics["val_loss"] < 3.3  # log(27) = 3.30: it learned something
