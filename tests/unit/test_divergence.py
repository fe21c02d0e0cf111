"""Results that are not silently wrong: divergence, tiny datasets, JSON without NaN.

Unit tests on made-up numbers and tiny words; the runs go through run_training (no CLI
start-up); tests/e2e/test_divergence_cli.py runs a sweep through the real CLI.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from helpers import TINY_OVERRIDES, TINY_WORDS
from wavenet_harness.adapter.config import compose_config, validate
from wavenet_harness.adapter.job import run_training
from wavenet_harness.base.data import DataError, build_dataset
from wavenet_harness.base.errors import ConfigError
from wavenet_harness.base.files import json_text
from wavenet_harness.sweeps.launch import collect_jobs, format_summary
from wavenet_harness.tracking.report import best_job, find_jobs, rank
from wavenet_harness.training.divergence import DivergenceCheck


def strict_json(text: str):
    """json.loads that refuses NaN and Infinity, as every other JSON reader does."""
    return json.loads(text, parse_constant=lambda name: pytest.fail(f"not JSON: {name}"))


def test_a_window_far_above_ln_vocab_is_divergence():
    check = DivergenceCheck.for_vocab(27, factor=10.0, window=4)
    assert check.limit == pytest.approx(10 * math.log(27))
    assert not any(check.add(step, 3.3) for step in range(4))  # where every model starts
    assert not any(check.add(step, 40.0 if step % 2 else 3.0) for step in range(4, 8))  # mean 21.5 < 33
    assert [check.add(step, 1e9) for step in range(8, 12)] == [False, False, False, True]


def test_the_window_follows_the_step_numbers_so_a_resume_checks_the_same_windows():
    check = DivergenceCheck(limit=10.0, window=100)
    assert not check.add(150, 1e6)  # mid-window: not judged yet
    assert check.end_window()  # a short last window is judged at the end


def test_factor_zero_turns_the_check_off():
    check = DivergenceCheck.for_vocab(27, factor=0, window=1)
    assert not check.add(0, 1e30)


def _tiny_cfg(words: Path, *extra: str) -> dict:
    return compose_config([*TINY_OVERRIDES, f"data.path={words}", *extra])


def test_an_exploding_but_finite_loss_is_diverged_with_valid_json(tmp_path, tiny_words_file):
    metrics = run_training(_tiny_cfg(tiny_words_file, "lr=1e9", "max_steps=300"), tmp_path / "run")
    assert metrics["status"] == "diverged", metrics
    assert "diverge_factor" in metrics["error"] and metrics["steps"] <= 100
    assert metrics["val_loss"] is None
    assert strict_json((tmp_path / "run" / "metrics.json").read_text())["status"] == "diverged"


def test_a_healthy_run_is_not_diverged(tmp_path, tiny_words_file):
    metrics = run_training(_tiny_cfg(tiny_words_file, "lr=0.1", "max_steps=150"), tmp_path / "run")
    assert metrics["status"] == "ok" and math.isfinite(metrics["val_loss"])


@pytest.mark.parametrize("value", [0.5, 1.0, -1.0, float("inf")])
def test_diverge_factor_must_be_zero_or_above_one(value):
    cfg = compose_config([f"diverge_factor={value}"])
    with pytest.raises(ConfigError, match="diverge_factor"):
        validate(cfg)


def test_batch_size_one_is_refused_up_front():
    with pytest.raises(ConfigError, match="batch_size=1 is not allowed: batchnorm needs at least 2"):
        validate(compose_config(["batch_size=1"]))
    validate(compose_config(["batch_size=1", "model=conv"]))  # whole words: many rows


@pytest.mark.parametrize("n", [1, 2, 5])
def test_a_words_file_too_small_for_a_split_is_refused(n):
    with pytest.raises(DataError, match=f"{n} words? leave the (val|train) split empty"):
        build_dataset(TINY_WORDS[:n], block_size=3)


def test_six_words_are_enough_and_give_an_honest_val_loss(tmp_path):
    words = tmp_path / "six.txt"
    words.write_text("\n".join(TINY_WORDS[:6]) + "\n")
    data = build_dataset(TINY_WORDS[:6], block_size=3)
    assert len(data.val.words) == len(data.test.words) == 1
    metrics = run_training(_tiny_cfg(words, "max_steps=20", "batch_size=4"), tmp_path / "run")
    assert metrics["status"] == "ok" and math.isfinite(metrics["val_loss"])


def test_json_text_replaces_nan_and_infinity_and_says_which():
    payload = {"status": "ok", "val_loss": float("nan"), "losses": [1.0, float("inf")], "steps": 3}
    loaded = strict_json(json_text(payload))
    assert loaded["val_loss"] is None and loaded["losses"] == [1.0, None] and loaded["steps"] == 3
    assert loaded["non_finite"]["keys"] == ["val_loss", "losses[1]"]
    assert "non_finite" not in strict_json(json_text({"val_loss": 2.0}))


def _fake_job(folder: Path, name: str, status: str, val_loss: float | None) -> None:
    run_dir = folder / name
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.json").write_text(json.dumps({"status": status, "val_loss": val_loss}))


def test_reports_and_sweep_summaries_never_rank_a_diverged_run_best(tmp_path):
    _fake_job(tmp_path, "0", "diverged", 0.01)  # a diverged run's last number can look good
    _fake_job(tmp_path, "1", "ok", 2.1)
    _fake_job(tmp_path, "2", "ok", 2.5)
    assert best_job(rank(find_jobs(tmp_path))).name == "1"
    summary = format_summary(collect_jobs(tmp_path), tmp_path)
    assert "best val loss: 2.1000" in summary and "1 diverged" in summary


def test_the_optuna_sweeper_tells_a_diverged_trial_as_failed_even_with_a_finite_value(tmp_path):
    import optuna
    from hydra.core.utils import JobReturn, JobStatus
    from optuna.trial import TrialState

    from hydra_plugins.wavenet_optuna_sweeper._search import StudySearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    trial = study.ask({"lr": optuna.distributions.FloatDistribution(0.1, 1.0)})
    _fake_job(tmp_path, "0", "diverged", 0.01)
    result = JobReturn()
    result.status, result.return_value = JobStatus.COMPLETED, 0.01
    assert StudySearch._tell(study, trial, result, tmp_path / "0") == "diverged"
    assert study.trials[0].state == TrialState.FAIL
