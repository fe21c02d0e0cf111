"""A search's trial rerun as one plain run (adapter/rerun.py): for every preset in conf/hparams_search,
the overrides wavenet-report prints compose and check to the very config the trial ran."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from helpers import REPO, run_config
from wavenet_harness.adapter.rerun import preset_overrides, single_run_overrides
from wavenet_harness.base.run_config import TrialLink

PRESETS = sorted(path.stem for path in (REPO / "conf" / "hparams_search").glob("*.yaml"))


def _trial_overrides(name: str, shortened: bool) -> list[str]:
    """What the sweeper hands a trial of `name`: the command line, one sampled value per
    searched key, the link to its trial."""
    params = yaml.safe_load((REPO / "conf" / "hparams_search" / f"{name}.yaml").read_text())["hydra"]["sweeper"][
        "params"
    ]
    sampled = []
    for key, spec in params.items():
        value = spec["choices"][-1] if spec["type"] == "categorical" else spec["high"]
        sampled.append(f"{key}={str(value).lower() if isinstance(value, bool) else value}")
    return [
        f"hparams_search={name}",
        *(["max_steps=300"] if shortened else []),
        "seed=7",
        *sampled,
        "++optuna.storage='/runs/sweeps/x/optuna.journal'",
        "++optuna.study='x'",
        "++optuna.trial=4",
    ]


@pytest.mark.parametrize("name", PRESETS)
def test_a_trials_rerun_is_a_plain_run_of_the_same_config(name, capsys):
    shortened = PRESETS.index(name) % 2 == 0  # half of them shortened: a preset's warmup is then fitted
    trial = _trial_overrides(name, shortened)
    rerun = single_run_overrides(trial)
    assert not any(o.startswith(("hparams_search=", "+optuna.", "++optuna.", "hydra")) for o in rerun), rerun
    trial_config = dataclasses.replace(run_config(*trial), optuna=TrialLink())
    capsys.readouterr()
    assert run_config(*rerun) == trial_config
    assert capsys.readouterr().err == ""  # pasted, it says nothing but what it trains


def test_a_preset_is_spelled_out_without_the_sweepers_settings():
    assert preset_overrides("hparams_search", "hier_optuna") == [
        "model=hier",
        "max_steps=20000",
        "eval_interval=2000",
        "checkpoint_interval=0",
        "log.progress=false",
    ]
    # the job's own overrides win over the preset's, as they do in the search
    assert single_run_overrides(["hparams_search=hier_optuna", "max_steps=60", "++optuna.trial=1"]) == [
        "model=hier",
        "eval_interval=2000",
        "checkpoint_interval=0",
        "log.progress=false",
        "max_steps=60",
    ]
    plain = ["lr=0.1", "n_hidden=8"]
    assert single_run_overrides(plain) == plain
