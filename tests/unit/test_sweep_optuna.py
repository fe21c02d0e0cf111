"""The Optuna sweeper (hydra/sweeper=wavenet_optuna): search space, pruning, resume, and
two workers sharing one study through a real PostgreSQL server on loopback."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from hydra_plugins.wavenet_optuna_sweeper._search import build_distributions, masked, override_value
from wavenet_harness.sweeps.study import StudyConfigError

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_search_space_from_yaml():
    space = build_distributions({
        "lr": {"type": "float", "low": 1e-3, "high": 0.3, "log": True},
        "n_hidden": {"type": "int", "low": 64, "high": 256, "step": 64},
        "optim": {"type": "categorical", "choices": ["sgd", "adamw"]},
        "block_size": [8, 16],
    })
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
    with pytest.raises(StudyConfigError, match=message):
        build_distributions(params)


def test_passwords_are_not_printed():
    assert masked("postgresql://me:s3cret@db:5432/study") == "postgresql://me:***@db:5432/study"
    assert masked("postgresql://me@db/study") == "postgresql://me@db/study"


def test_override_values():
    assert [override_value(v) for v in (0.001, 64, "adamw", True, None)] == ["0.001", "64", "adamw", "true", "null"]
    assert override_value("a b") == "'a b'"


# --- two workers, one study, a real PostgreSQL server --------------------------------------
