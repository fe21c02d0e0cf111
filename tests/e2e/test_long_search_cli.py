"""hparams_search=<family>_long through the real `wavenet-train`, shortened: Hyperband on
the val loss of every evaluation, trials scored on their averaged weights, the warmup
fitted to the short run, and a study whose remembered pruner is the config's."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from helpers import REPO, read_metrics
from wavenet_harness.sweeps.study import PRUNER_ATTR, open_storage


@pytest.mark.parametrize("name", ["gru_long", "transformer_long"])
def test_a_shortened_long_search_prunes_with_hyperband(tmp_path, tiny_words_file, cli, name):
    sweep_dir = tmp_path / name
    proc = cli(
        [
            "--multirun",
            f"hparams_search={name}",
            "batch_size=8",
            f"data.path={tiny_words_file}",
            "max_steps=40",
            "eval_interval=10",
            "hydra.sweeper.n_trials=3",
            "hydra.sweeper.sampler.seed=0",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        REPO,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # The preset's 200-step warmup does not fit 40 steps: scaled, and said so.
    assert "schedule.warmup_steps=200 scaled to 4" in proc.stderr
    study = optuna.load_study(study_name=name, storage=open_storage(str(sweep_dir / "optuna.journal")))
    assert study.user_attrs[PRUNER_ATTR] == {
        "name": "hyperband",
        "n_startup_trials": 5,
        "n_warmup_steps": 0,
        "min_resource": 10,
        "max_resource": 40,
        "reduction_factor": 6,
        "bootstrap_count": 1,
    }
    trials = study.get_trials()
    assert len(trials) == 3 and {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
    # bootstrap_count 1: the first trial to reach the rung at step 10 stops there.
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    assert pruned and all(max(t.intermediate_values) == 10 for t in pruned)
    for trial in trials:
        metrics = read_metrics(sweep_dir / str(trial.number))
        assert metrics["scored_weights"] == ("ema" if trial.params["ema_decay"] else "raw")
        assert metrics["status"] == ("pruned" if trial.state == TrialState.PRUNED else "ok")
        assert max(trial.intermediate_values) == metrics["steps"]
        if trial.state == TrialState.COMPLETE:  # what the pruner saw last is what the run scored
            assert sorted(trial.intermediate_values) == [10, 20, 30, 40]
            assert trial.intermediate_values[40] == pytest.approx(metrics["val_loss"]) == trial.value
    # The recipe: the best val at any evaluation, pruned trials too, with its step.
    code, out, err = cli.in_process("wavenet-study", [sweep_dir, "--any-step", "--top", "3"])
    assert code == 0, err
    best_trial, best_step = min(
        ((t.number, s) for t in trials for s in t.intermediate_values),
        key=lambda ts: (study.trials[ts[0]].intermediate_values[ts[1]], ts[1]),
    )
    assert "best val at any evaluation" in out
    rows = [line.split() for line in out.split("best val at any evaluation")[1].splitlines()]
    first = next(row for row in rows if row and row[0].isdigit())  # below the (possibly two-line) header
    assert first[:3] == [
        str(best_trial),
        f"{study.trials[best_trial].intermediate_values[best_step]:.4f}",
        str(best_step),
    ]
