"""wavenet-study --export: which trial and step become the recipe, which keys it holds, where it goes."""

from __future__ import annotations

import datetime

import optuna
import pytest
import yaml
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from helpers import compose
from wavenet_harness.base.errors import UsageError
from wavenet_harness.sweeps import recipe

optuna.logging.set_verbosity(optuna.logging.WARNING)
LR = {"lr": FloatDistribution(0.001, 1.0)}


@pytest.fixture
def trials():
    """0: finished, 2.0 at its end (1.8 at 20); 1: pruned at 20 with 1.7; 2: finished, 1.9; 3: failed."""
    study = optuna.create_study()
    for state, value, curve in [
        (TrialState.COMPLETE, 2.0, {10: 2.5, 20: 1.8, 30: 2.0}),
        (TrialState.PRUNED, None, {10: 2.4, 20: 1.7}),
        (TrialState.COMPLETE, 1.9, {10: 2.3, 20: 1.95, 30: 1.9}),
        (TrialState.FAIL, None, {}),
    ]:
        study.add_trial(
            create_trial(state=state, value=value, params={"lr": 0.1}, distributions=LR, intermediate_values=curve)
        )
    return study.get_trials()


@pytest.mark.parametrize(
    "number, step, any_step, expected",
    [
        (None, None, False, (2, None, 1.9)),  # the best finished trial, at its own end
        (None, 20, False, (1, 20, 1.7)),  # the best val any finished or pruned trial reported at step 20
        (0, 20, False, (0, 20, 1.8)),
        (None, None, True, (1, 20, 1.7)),  # the best val at any evaluation, as --any-step ranks
        (0, None, True, (0, 20, 1.8)),
        (0, None, False, (0, None, 2.0)),
    ],
)
def test_which_trial_and_step(trials, number, step, any_step, expected):
    choice = recipe.choose(trials, number, step, any_step)
    assert (choice.trial.number, choice.step, choice.val_loss) == expected


@pytest.mark.parametrize(
    "number, step, message",
    [
        (
            1,
            None,
            "--export: trial 1 did not finish (pruned); give --step S (or --any-step) to take a val it reported "
            "on the way",
        ),
        (9, None, "--trial 9: the study has no trial 9 (it holds 0-3)"),
        (0, 15, "--step 15: trial 0 reported no val loss at step 15; its evaluations: 10, 20, 30"),
        (None, 40, "--step 40: no finished or pruned trial reported a val loss at step 40"),
    ],
)
def test_no_such_choice_is_one_line(trials, number, step, message):
    with pytest.raises(UsageError) as refused:
        recipe.choose(trials, number, step)
    assert str(refused.value) == message


def test_keys_are_what_differs_from_the_default_with_max_steps_at_the_chosen_step():
    default = {
        "n_hidden": 128,
        "max_steps": 200000,
        "lr": 0.1,
        "log": {"progress": True},
        "checkpoint_interval": 10000,
        "model": {"name": "gru", "dropout": 0.0},
        "data": {"path": "d"},
    }
    ran = {
        "n_hidden": 96,
        "max_steps": 36000,
        "lr": 0.1,
        "log": {"progress": False},
        "checkpoint_interval": 0,
        "model": {"name": "gru", "dropout": 0.2},
        "data": {"path": "d"},
        "optuna": {"trial": 3},
        "resume": False,
    }
    assert recipe.recipe_keys(ran, default, 15000) == {"n_hidden": 96, "max_steps": 15000, "model": {"dropout": 0.2}}
    assert recipe.recipe_keys(ran, default, 200000)["max_steps"] == 200000  # said even where it is the default


def test_group_choices_in_the_presets_order():
    hydra_cfg = {
        "hydra": {
            "runtime": {
                "choices": {
                    "hparams_search": "gru_long",
                    "experiment": None,
                    "schedule": "constant",
                    "optim": "adamw",
                    "model": "gru",
                    "hydra/launcher": "parallel",
                }
            }
        }
    }
    assert recipe.group_choices(hydra_cfg) == {"model": "gru", "optim": "adamw", "schedule": "constant"}


def test_where_the_preset_goes(tmp_path):
    checkout = tmp_path / "conf"
    (checkout / "experiment").mkdir(parents=True)
    (checkout / "experiment" / "tuned.yaml").write_text("")
    assert recipe.preset_path("mine", None, checkout) == checkout / "experiment" / "mine.yaml"
    assert recipe.preset_path("mine", str(tmp_path / "d"), checkout) == tmp_path / "d" / "experiment" / "mine.yaml"
    assert recipe.preset_path("mine", str(tmp_path / "d"), None) == tmp_path / "d" / "experiment" / "mine.yaml"
    for name, config_dir, conf, message in [
        ("tuned", None, checkout, "tuned.yaml already exists; choose another name or remove it first"),
        ("tuned", str(tmp_path / "d"), checkout, "wavenet-train already ships experiment=tuned"),
        ("a/b", None, checkout, "a preset's name is letters, digits, _ and -"),
        ("mine", None, None, "--export needs --config-dir DIR here"),
    ]:
        with pytest.raises(UsageError, match=message):
            recipe.preset_path(name, config_dir, conf)


def test_the_preset_composes_to_the_trial_config(tmp_path, trials):
    """What wavenet-train composes from the written preset is the trial's config, max_steps
    aside and what a recipe leaves to the defaults."""
    ran_overrides = [
        "model=gru",
        "optim=adamw",
        "schedule=constant",
        "n_hidden=96",
        "lr=0.00329",
        "threads=1",
        "model.dropout=0.2",
        "schedule.warmup_steps=200",
        "log.progress=false",
        "checkpoint_interval=0",
    ]
    ran = compose(*ran_overrides)
    groups = {"model": "gru", "optim": "adamw", "schedule": "constant"}
    default = compose_unresolved(*(f"{g}={o}" for g, o in groups.items()))
    choice = recipe.choose(trials, 0, 20)
    keys = recipe.recipe_keys(ran, default, choice.step)
    text = recipe.preset_text(
        choice,
        "gru_long",
        "runs/sweeps/gru_long/optuna.journal",
        groups,
        keys,
        "mine",
        str(tmp_path),
        today=datetime.date(2026, 12, 7),
    )
    assert text.splitlines()[:4] == [
        "# @package _global_",
        "# Exported by wavenet-study on 2026-12-07 from the Optuna study 'gru_long',",
        "# stored in runs/sweeps/gru_long/optuna.journal:",
        "# trial 0 (finished), val 1.8000 at step 20. Its config as it ran, with max_steps=20;",
    ]
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "mine.yaml").write_text(text)
    again = compose(f"hydra.searchpath=[file://{tmp_path}]", "experiment=mine")
    ignored = set(recipe.LEFT_OUT) | {"max_steps"}
    assert {k: v for k, v in again.items() if k not in ignored} == {k: v for k, v in ran.items() if k not in ignored}
    assert again["max_steps"] == 20
    assert yaml.safe_load(text)["defaults"] == [{f"override /{g}": o} for g, o in groups.items()]


def compose_unresolved(*overrides: str) -> dict:
    """The default config as cli/study.py composes it for the comparison: ${...} kept."""
    from omegaconf import OmegaConf

    from wavenet_harness.adapter.config import compose_config

    cfg = OmegaConf.to_container(compose_config(list(overrides), hydra_config=True), resolve=False)
    assert isinstance(cfg, dict)
    return {str(k): v for k, v in cfg.items() if k != "hydra"}
