"""wavenet-study: counts, best trials and importances of a made-up Optuna study."""

from __future__ import annotations

import json

import optuna
import pytest
from optuna.trial import TrialState

from wavenet_harness.cli import study as study_report
from wavenet_harness.sweeps.study import open_storage


@pytest.fixture
def sweep_dir(tmp_path):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(str(tmp_path / study_report.JOURNAL_NAME))
    study = optuna.create_study(study_name="toy", storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
    for i in range(12):
        trial = study.ask(
            {
                "x": optuna.distributions.FloatDistribution(0, 1),
                "y": optuna.distributions.CategoricalDistribution(["a", "b"]),
            }
        )
        run_dir = tmp_path / str(i)
        run_dir.mkdir()
        (run_dir / "metrics.json").write_text(json.dumps({"params": 1000 + i, "seconds": 60.0 * (i + 1)}))
        trial.set_user_attr("run_dir", str(run_dir))
        x = trial.params["x"]
        # only x matters; y adds a sliver so the values are not a pure function of x
        study.tell(trial, 2.0 + x + (0.001 if trial.params["y"] == "a" else 0.0))
    study.tell(study.ask(), state=TrialState.PRUNED)
    study.tell(study.ask(), state=TrialState.FAIL)
    requeued = study.ask()
    requeued.set_user_attr("requeued", True)
    study.tell(requeued, state=TrialState.FAIL)
    return tmp_path


def test_summary_counts_best_and_importances(sweep_dir):
    summary = study_report.summarise(study_report._open_study(study_report._parser().parse_args([str(sweep_dir)])), 3)
    assert summary["counts"]["complete"] == 12 and summary["counts"]["pruned"] == 1
    assert summary["counts"]["fail"] == 1 and summary["counts"]["interrupted"] == 1
    values = [b["val_loss"] for b in summary["best"]]
    assert len(values) == 3 and values == sorted(values)
    best = summary["best"][0]
    assert best["model_params"] == 1000 + best["trial"] and best["minutes"] == pytest.approx(best["trial"] + 1)
    assert summary["importances"]["x"] > summary["importances"]["y"]
    assert summary["importance_caveat"] is None  # 12 finished trials
    assert summary["wall_minutes"] >= 0
    assert summary["trial_minutes"] == pytest.approx(sum(range(1, 13)))  # 12 runs of 1..12 minutes; others had none


def test_cli_markdown_and_bad_input(sweep_dir, tmp_path, cli):
    out = cli.in_process("wavenet-study", [str(sweep_dir), "--top", "2", "--markdown"]).stdout.splitlines()
    assert out[0].startswith("study toy: 15 trials: 12 finished, 1 pruned, 1 failed")
    assert out[1] == "| trial | val loss | x | y | params | minutes |" and out[2] == "|---|---|---|---|---|---|"
    assert len([line for line in out if line.startswith("| ") and line[2].isdigit()]) == 2
    assert "| parameter | importance |" in out

    for argv, expected in [
        ([str(tmp_path / "nowhere")], "does not exist"),
        ([str(sweep_dir), "--top", "0"], "--top 0"),
        ([str(sweep_dir), "--study", "other"], "the storage holds toy"),
    ]:
        code, _, err = cli.in_process("wavenet-study", argv)
        assert code == 2 and len(err.strip().splitlines()) == 1 and expected in err, err


def test_run_dirs_recorded_relative_to_another_folder_are_found_in_the_sweep_folder(tmp_path, monkeypatch):
    # a search run from its project folder records runs/sweeps/<name>/<job>; wavenet-study may run elsewhere
    storage = open_storage(str(tmp_path / study_report.JOURNAL_NAME))
    study = optuna.create_study(study_name="toy", storage=storage)
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    (tmp_path / "0").mkdir()
    (tmp_path / "0" / "metrics.json").write_text(json.dumps({"params": 4321, "seconds": 90.0}))
    trial.set_user_attr("run_dir", "runs/sweeps/toy/0")
    study.tell(trial, 2.5)
    monkeypatch.chdir(tmp_path.parent)
    summary = study_report.summarise(study, 1, tmp_path)
    assert summary["best"][0]["model_params"] == 4321 and summary["trial_minutes"] == pytest.approx(1.5)


def test_importances_from_few_finished_trials_carry_a_caveat(tmp_path, cli):
    storage = open_storage(str(tmp_path / study_report.JOURNAL_NAME))
    study = optuna.create_study(study_name="few", storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(3):
        trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
        study.tell(trial, 2.0 + trial.params["x"])
    out = cli.in_process("wavenet-study", [str(tmp_path)]).stdout
    assert "| parameter" not in out and "importance" in out
    assert out.strip().splitlines()[-1] == (
        "note: importances rest on 3 finished trials (fewer than 10): read them as a hint, not a ranking"
    )


def test_any_step_ranks_finished_and_pruned_trials_by_their_best_evaluation(tmp_path, cli):
    # For a search whose lr does not depend on max_steps, a trial's best evaluation is a recipe.
    storage = open_storage(str(tmp_path / study_report.JOURNAL_NAME))
    study = optuna.create_study(study_name="anytime", storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
    space = {"x": optuna.distributions.FloatDistribution(0, 1)}
    curves = [
        ({10: 2.0, 20: 1.5, 30: 1.7}, "complete"),
        ({10: 1.8}, "pruned"),
        ({10: 1.9, 20: 1.6, 30: 1.6}, "complete"),
    ]
    for curve, state in curves:
        trial = study.ask(space)
        for step, value in curve.items():
            trial.report(value, step)
        if state == "pruned":
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, curve[max(curve)])
    ranked = study_report.summarise(study, 5, tmp_path, any_step=True)["best_at_any_step"]
    assert [(r["trial"], r["val_loss"], r["step"], r["state"]) for r in ranked] == [
        (0, 1.5, 20, "complete"),
        (2, 1.6, 20, "complete"),
        (1, 1.8, 10, "pruned"),
    ]
    assert "best_at_any_step" not in study_report.summarise(study, 5, tmp_path)
    code, out, err = cli.in_process("wavenet-study", [str(tmp_path), "--any-step", "--top", "2", "--markdown"])
    assert code == 0, err
    assert "| trial | val loss | step | state | x |" in out and "| 0 | 1.5000 | 20 | complete |" in out
    assert "| 1 | 1.8000 |" not in out  # --top 2


def test_text_output_fits_100_columns_for_a_wide_search(tmp_path, cli):
    # conv_optuna's seven keys, dotted names and long floats: 104-109 columns before
    storage = open_storage(str(tmp_path / study_report.JOURNAL_NAME))
    study = optuna.create_study(
        study_name="conv_optuna_with_a_long_name", storage=storage, sampler=optuna.samplers.RandomSampler(seed=0)
    )
    D = optuna.distributions
    space = {
        "n_embd": D.CategoricalDistribution([24, 32, 48, 64]),
        "n_hidden": D.IntDistribution(96, 256, log=True),
        "depth": D.CategoricalDistribution([3, 4]),
        "model.dropout": D.FloatDistribution(0.0, 0.4),
        "model.residual": D.CategoricalDistribution([True, False]),
        "lr": D.FloatDistribution(1e-3, 1e-2, log=True),
        "optim.weight_decay": D.FloatDistribution(0.01, 0.3, log=True),
    }
    for i in range(4):
        trial = study.ask(space)
        trial.report(2.5 - i / 100, 1000)
        (tmp_path / str(i)).mkdir()
        (tmp_path / str(i) / "metrics.json").write_text(json.dumps({"params": 1_234_567, "seconds": 6000.0}))
        trial.set_user_attr("run_dir", str(tmp_path / str(i)))
        study.tell(trial, 2.0 + trial.params["lr"])
    code, out, err = cli.in_process("wavenet-study", [str(tmp_path), "--any-step"])
    assert code == 0, err
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 100, out
    assert any("weight" in line and "dropout" in line for line in lines)  # every key shown, by its last part
    assert not any(line.startswith("left out") for line in lines)
    assert (
        lines[-1] == "note: importances rest on 4 finished trials (fewer than 10): read them as a hint, not a ranking"
    )
