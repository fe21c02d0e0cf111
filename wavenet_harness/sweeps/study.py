"""Optuna studies shared by the sweeper and its trials: storage, pruning, the trial link.
The sampler and pruner a search names are built by sweeps/pruners.py.

This is the one place that knows the `optuna` key a trial's config carries
(`optuna.storage`, `optuna.study`, `optuna.trial`; declared as base.run_config.TrialLink): the sweeper
writes it with `trial_overrides`, the job leaves it out of
its hyperparameters and adds `job_listeners(config)`, and sweep summaries skip it
(`is_trial_override`).

The sweeper (hydra_plugins/wavenet_optuna_sweeper) asks a study for trials and launches
them as Hydra jobs. Each job gets `optuna.storage`, `optuna.study` and `optuna.trial` in
its config and talks to the same study through the storage, never through process
memory, so pruning works alike for jobs in the sweeper's process, in joblib's worker
processes, under submitit or on other machines sharing a PostgreSQL storage.

A storage is named by one string: a SQLAlchemy URL (`sqlite:///...`, `postgresql://...`)
or else the path of an Optuna journal file, safe for many processes on one file system.

Optuna is imported inside the functions that use it, so a plain training run never pays
for it. This module knows nothing of the command line or of Hydra.
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Mapping
from typing import Any

from wavenet_harness.base.errors import ConfigError
from wavenet_harness.base.extras import has_extra, missing_extra_message
from wavenet_harness.base.metrics import VAL_LOSS
from wavenet_harness.base.run_config import TRIAL_FIELD, RunConfig
from wavenet_harness.sweeps.pruners import build_pruner
from wavenet_harness.training.loop import StopTraining

TRIAL_KEY = TRIAL_FIELD

# The study remembers its pruner here, so jobs rebuild the sweeper's pruner from storage.
PRUNER_ATTR = "wavenet_pruner"
# The objective's name in Optuna's storage, so optuna-dashboard does not call it "Objective 0".
METRIC_NAME = "val_loss"
# fANOVA importances from fewer finished trials than this are a hint, not a ranking.
FEW_TRIALS = 10


def _with_installed_driver(url: str) -> str:
    """SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3; use psycopg2 where only it is installed."""
    if (
        url.startswith("postgresql://")
        and importlib.util.find_spec("psycopg") is None
        and importlib.util.find_spec("psycopg2") is not None
    ):
        return "postgresql+psycopg2://" + url[len("postgresql://") :]
    return url


def open_storage(name: str) -> Any:
    """An Optuna storage from its one-string name (database URL or journal file path)."""
    from optuna.storages import JournalStorage, RDBStorage
    from optuna.storages.journal import JournalFileBackend

    if name.startswith("postgresql") and not has_extra("postgres"):
        raise ConfigError(f"hydra.sweeper.storage=postgresql://...: {missing_extra_message('postgres')}")
    if "://" in name:
        name = _with_installed_driver(name)
        # SQLite serialises writers: wait for the lock rather than fail a trial.
        kwargs = {"connect_args": {"timeout": 60}} if name.startswith("sqlite") else {"pool_pre_ping": True}
        return RDBStorage(name, engine_kwargs=kwargs)
    if os.path.exists(name) and not os.path.isfile(name):  # opening a FIFO would wait for a writer forever
        raise ConfigError(f"the study journal {name} is not a regular file; give the path of an Optuna journal file")
    return JournalStorage(JournalFileBackend(name))


def load_trial(storage_name: str, study_name: str, number: int) -> Any:
    """The live trial `number` of a study, opened from storage in the job's own process."""
    import optuna

    storage = open_storage(storage_name)
    study_id = storage.get_study_id_from_name(study_name)
    pruner = build_pruner(storage.get_study_user_attrs(study_id).get(PRUNER_ATTR))
    study = optuna.load_study(study_name=study_name, storage=storage, pruner=pruner)
    return optuna.trial.Trial(study, storage.get_trial_id_from_study_id_trial_number(study_id, number))


class PruningReporter:
    """Training listener: reports each validation loss to the trial and stops a hopeless run.

    The last evaluation (at max_steps) is reported but never pruned: the run is done.
    """

    def __init__(self, trial: Any, max_steps: int):
        self.trial = trial
        self.max_steps = max_steps

    def on_train_loss(self, step: int, loss: float, lr: float) -> None:
        pass

    def on_metrics(self, step: int, metrics: Mapping[str, float]) -> None:
        val_loss = metrics.get(VAL_LOSS)
        if val_loss is None or not math.isfinite(val_loss):
            return  # the loop reports divergence itself
        self.trial.report(val_loss, step)
        if step < self.max_steps and self.trial.should_prune():
            raise StopTraining("pruned", f"pruned by the study at step {step} (val loss {val_loss:.4f})")


def quoted(text: str) -> str:
    """Text as a quoted Hydra override value."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def trial_overrides(storage_name: str, study_name: str, number: int) -> list[str]:
    """The overrides that link a job to its trial: `++optuna.storage=...` and friends (`++`: set
    whether or not the config has the key, as a run's own overrides saved before it had)."""
    return [
        f"++{TRIAL_KEY}.storage={quoted(storage_name)}",
        f"++{TRIAL_KEY}.study={quoted(study_name)}",
        f"++{TRIAL_KEY}.trial={number}",
    ]


def is_trial_override(override: str) -> bool:
    """A link to a trial, as the sweeper writes it now (++optuna.) or wrote it before (+optuna.)."""
    return override.lstrip("+").startswith(f"{TRIAL_KEY}.") and override.startswith("+")


def job_listeners(config: RunConfig) -> list[Any]:
    """Listeners a job adds for its sweeper: a PruningReporter when it is an Optuna trial."""
    link = config.optuna
    if not link.linked:
        return []
    trial = load_trial(link.storage, link.study, link.trial)
    return [PruningReporter(trial, config.max_steps)]


def importance_caveat(finished: int) -> str | None:
    """The warning that goes with importances computed from too few finished trials."""
    if finished >= FEW_TRIALS:
        return None
    return (
        f"importances rest on {finished} finished trial{'s' if finished != 1 else ''} (fewer than {FEW_TRIALS}): "
        "read them as a hint, not a ranking"
    )


def study_importances(storage_name: str) -> dict[str, Any]:
    """For a page: the fANOVA importances of the only study in a storage over its finished
    trials, how many finished, the caveat (importance_caveat) and, with none, why."""
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(storage_name)
    studies = optuna.get_all_study_summaries(storage)
    if len(studies) != 1:
        return {"values": {}, "finished": 0, "caveat": None, "why_none": f"the storage holds {len(studies)} studies"}
    study = optuna.load_study(study_name=studies[0].study_name, storage=storage)
    finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(finished) < 2 or len({t.value for t in finished}) < 2:
        return {
            "values": {},
            "finished": len(finished),
            "caveat": None,
            "why_none": f"importances need two finished trials with different val losses ({len(finished)} so far)",
        }
    try:
        values = dict(optuna.importance.get_param_importances(study, target=None))
    except (ValueError, RuntimeError) as err:  # e.g. trials that searched different keys
        return {
            "values": {},
            "finished": len(finished),
            "caveat": None,
            "why_none": f"Optuna could not rank them: {err}",
        }
    return {"values": values, "finished": len(finished), "caveat": importance_caveat(len(finished)), "why_none": None}


def write_dashboard_note(study: Any) -> None:
    """A note on the study's page in optuna-dashboard: what the objective is and, while
    there are few finished trials, how far to trust the importances. Only with the
    dashboard extra installed (the note lives in the dashboard's own study attributes)."""
    if not has_extra("dashboard"):
        return
    from optuna.trial import TrialState
    from optuna_dashboard import save_note

    finished = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    lines = [
        f"## {study.study_name}",
        "",
        f"Objective: **{METRIC_NAME}**, the validation split's loss at the end of each trial (lower is better). "
        "Pruned trials show their val loss at each evaluation under Intermediate Values.",
        "",
        f"{finished} finished trial{'s' if finished != 1 else ''}.",
    ]
    caveat = importance_caveat(finished)
    if caveat:
        lines += ["", f"**Careful:** {caveat}; the same goes for the slice and contour plots."]
    save_note(study, "\n".join(lines))
