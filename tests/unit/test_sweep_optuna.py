"""The Optuna sweeper (hydra/sweeper=wavenet_optuna): search space, pruning, resume, and
two workers sharing one study through a real PostgreSQL server on loopback."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from hydra_plugins.wavenet_optuna_sweeper._space import build_distributions, override_value
from wavenet_harness.base.errors import ConfigError
from wavenet_harness.base.passwords import masked

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_search_space_from_yaml():
    space = build_distributions(
        {
            "lr": {"type": "float", "low": 1e-3, "high": 0.3, "log": True},
            "n_hidden": {"type": "int", "low": 64, "high": 256, "step": 64},
            "optim": {"type": "categorical", "choices": ["sgd", "adamw"]},
            "block_size": [8, 16],
        }
    )
    assert space["lr"] == FloatDistribution(1e-3, 0.3, log=True)
    assert space["n_hidden"] == IntDistribution(64, 256, step=64)
    assert space["optim"] == CategoricalDistribution(["sgd", "adamw"])
    assert space["block_size"] == CategoricalDistribution([8, 16])


@pytest.mark.parametrize(
    "params, message",
    [
        ({"lr": {"type": "gaussian"}}, "type='gaussian' is not allowed"),
        ({"lr": {"type": "float", "low": 0.1}}, "needs 'high'"),
        ({"lr": {"type": "float", "low": 0.0, "high": 1.0, "log": True}}, "is not allowed"),
        ({"optim": {"type": "categorical", "choices": []}}, "choices is empty"),
    ],
)
def test_bad_search_space_is_one_clear_error(params, message):
    with pytest.raises(ConfigError, match=message):
        build_distributions(params)


def test_passwords_are_not_printed():
    assert masked("postgresql://me:s3cret@db:5432/study") == "postgresql://me:***@db:5432/study"
    assert masked("postgresql://me@db/study") == "postgresql://me@db/study"


def test_override_values():
    assert [override_value(v) for v in (0.001, 64, "adamw", True, None)] == ["0.001", "64", "adamw", "true", "null"]
    assert override_value("a b") == "'a b'"


# --- two workers, one study, a real PostgreSQL server --------------------------------------


# --- pruners ---------------------------------------------------------------------------------

HYPERBAND = {"name": "hyperband", "min_resource": 1000, "max_resource": 36000, "reduction_factor": 3}


def test_hyperband_pruner_from_its_spec():
    from wavenet_harness.sweeps.pruners import build_pruner

    pruner = build_pruner(dict(HYPERBAND))
    assert isinstance(pruner, optuna.pruners.HyperbandPruner)
    assert (pruner._min_resource, pruner._max_resource, pruner._reduction_factor) == (1000, 36000, 3)
    assert build_pruner({"name": "hyperband", "min_resource": 10, "max_resource": "auto"})._max_resource == "auto"


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"name": "hyperband"}, r"min_resource='auto' is not allowed with hyperband: give the steps of the first rung"),
        ({"name": "hyperband", "min_resource": 0}, r"min_resource=0 is not allowed: a whole number >= 1"),
        ({"name": "hyperband", "min_resource": 2.5}, r"min_resource=2.5 is not allowed"),
        (
            {"name": "hyperband", "min_resource": 100, "max_resource": 100},
            r"max_resource=100 is not allowed: it must be above min_resource=100",
        ),
        (
            {"name": "hyperband", "min_resource": 100, "max_resource": "all"},
            r"max_resource='all' is not allowed: a whole number >= 1 or \"auto\"",
        ),
        (
            {"name": "hyperband", "min_resource": 100, "reduction_factor": 1},
            r"reduction_factor=1 is not allowed: a whole number >= 2",
        ),
        ({"name": "successive_halving", "reduction_factor": True}, r"reduction_factor=True is not allowed"),
        ({"name": "median", "n_warmup_steps": -5}, r"n_warmup_steps=-5 is not allowed"),
        (
            {"name": "asha"},
            r"pruner.name='asha' is not allowed: choose one of median, successive_halving, hyperband, none",
        ),
    ],
)
def test_bad_pruner_values_are_one_clear_error(spec, message):
    from wavenet_harness.sweeps.pruners import build_pruner

    with pytest.raises(ConfigError, match=message) as caught:
        build_pruner(spec)
    assert "\n" not in str(caught.value)


def test_a_job_rebuilds_the_pruner_its_study_remembers(tmp_path):
    """The sweeper stores its pruner's spec in the study (PRUNER_ATTR); a job in another
    process opens the study from storage and must prune with the same Hyperband."""
    from wavenet_harness.sweeps.pruners import build_pruner
    from wavenet_harness.sweeps.study import PRUNER_ATTR, load_trial, open_storage

    journal = str(tmp_path / "study.journal")
    study = optuna.create_study(storage=open_storage(journal), study_name="long", pruner=build_pruner(dict(HYPERBAND)))
    study.set_user_attr(PRUNER_ATTR, dict(HYPERBAND))
    asked = study.ask()
    trial = load_trial(journal, "long", asked.number)
    pruner = trial.study.pruner
    assert isinstance(pruner, optuna.pruners.HyperbandPruner)
    assert (pruner._min_resource, pruner._max_resource, pruner._reduction_factor) == (1000, 36000, 3)


def test_hyperband_prunes_a_worse_curve_at_its_first_rung():
    """Two curves in the bracket that prunes from min_resource on: the second, worse at the
    first rung, is stopped there; the first, alone at that rung, runs on."""
    from wavenet_harness.sweeps.pruners import build_pruner

    spec = {"name": "hyperband", "min_resource": 10, "max_resource": 90, "reduction_factor": 3}
    study = optuna.create_study(study_name="curves", pruner=build_pruner(spec))
    pruner = study.pruner
    pruned = {}
    for offset in (0.0, 0.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5):
        trial = study.ask()
        for step in range(10, 100, 10):
            trial.report(2.0 + offset + 1.0 / step, step)
            if trial.should_prune():
                pruned[trial.number] = step
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                break
        else:
            study.tell(trial, 2.0 + offset)
    brackets = {t.number: pruner._get_bracket_id(study, t) for t in study.trials}
    # In bracket 0 (rungs at 10, 30), a worse trial that reaches a rung after a better one stops there.
    first = [n for n, b in brackets.items() if b == 0]
    later_worse = [n for n in first[1:] if n >= 2]
    assert first and first[0] not in pruned
    assert later_worse and all(pruned.get(n) == 10 for n in later_worse), (brackets, pruned)


def test_hyperband_bootstrap_count():
    from wavenet_harness.sweeps.pruners import build_pruner

    assert build_pruner(dict(HYPERBAND, bootstrap_count=1))._bootstrap_count == 1
    with pytest.raises(ConfigError, match=r"bootstrap_count > 0 needs max_resource in steps"):
        build_pruner({"name": "hyperband", "min_resource": 10, "bootstrap_count": 1})
    with pytest.raises(ConfigError, match=r"bootstrap_count=-1 is not allowed"):
        build_pruner(dict(HYPERBAND, bootstrap_count=-1))
