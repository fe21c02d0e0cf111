"""Optuna studies shared by the sweeper and its trials: storage, sampler, pruner, pruning.

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
from wavenet_harness.training.loop import StopTraining

TRIAL_KEY = TRIAL_FIELD

# The study remembers its pruner here, so jobs rebuild the sweeper's pruner from storage.
PRUNER_ATTR = "wavenet_pruner"
PRUNERS = ("median", "successive_halving", "hyperband", "none")
# The objective's name in Optuna's storage, so optuna-dashboard does not call it "Objective 0".
METRIC_NAME = "val_loss"
# fANOVA importances from fewer finished trials than this are a hint, not a ranking.
FEW_TRIALS = 10
SAMPLERS = ("tpe", "random")


def _with_installed_driver(url: str) -> str:
    """SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3; use psycopg2 where only it is installed."""
    if (
        url.startswith("postgresql://")
        and importlib.util.find_spec("psycopg") is None
        and importlib.util.find_spec("psycopg2") is not None
    ):
        return "postgresql+psycopg2://" + url[len("postgresql://"):]
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


def _whole(spec: dict[str, Any], key: str, default: Any, low: int, auto: bool = False) -> Any:
    """spec[key] as a whole number >= low (or "auto" where allowed); else one line naming it."""
    value = spec.get(key, default)
    if auto and value == "auto":
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)  # "2000" from a command line that quoted it
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        wanted = f"a whole number >= {low}" + (' or "auto"' if auto else "")
        raise ConfigError(f"hydra.sweeper.pruner.{key}={value!r} is not allowed: {wanted}")
    return value


def build_pruner(spec: dict[str, Any] | None) -> Any:
    """The pruner a spec names (hydra.sweeper.pruner); every value checked, one line if wrong.

    Resources are training steps, the step of each reported val loss. Hyperband runs
    several successive-halving brackets, from one that prunes from min_resource on to
    one that prunes hardly at all, so a curve that starts slowly still has a bracket
    where it is judged late.
    """
    import optuna

    spec = dict(spec or {})
    name = spec.pop("name", "none") or "none"
    if name == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=_whole(spec, "n_startup_trials", 5, 0), n_warmup_steps=_whole(spec, "n_warmup_steps", 0, 0)
        )
    if name == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=_whole(spec, "min_resource", "auto", 1, auto=True),
            reduction_factor=_whole(spec, "reduction_factor", 4, 2),
        )
    if name == "hyperband":
        if spec.get("min_resource", "auto") == "auto":  # Optuna's Hyperband has no "auto" for it
            raise ConfigError(
                "hydra.sweeper.pruner.min_resource='auto' is not allowed with hyperband: give the steps of the "
                "first rung, e.g. ${eval_interval}"
            )
        min_resource = _whole(spec, "min_resource", 1, 1)
        max_resource = _whole(spec, "max_resource", "auto", 1, auto=True)
        reduction_factor = _whole(spec, "reduction_factor", 4, 2)
        if max_resource != "auto" and max_resource <= min_resource:
            raise ConfigError(
                f"hydra.sweeper.pruner.max_resource={max_resource} is not allowed: it must be above "
                f"min_resource={min_resource} (both in training steps)"
            )
        bootstrap_count = _whole(spec, "bootstrap_count", 0, 0)
        if bootstrap_count and max_resource == "auto":
            raise ConfigError("hydra.sweeper.pruner.bootstrap_count > 0 needs max_resource in steps, not \"auto\"")
        return optuna.pruners.HyperbandPruner(
            min_resource=min_resource, max_resource=max_resource, reduction_factor=reduction_factor,
            bootstrap_count=bootstrap_count,
        )
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ConfigError(f"hydra.sweeper.pruner.name={name!r} is not allowed: choose one of {', '.join(PRUNERS)}")


def pruning_blind_spot(spec: dict[str, Any] | None, max_steps: Any, eval_interval: Any) -> str | None:
    """Why the pruner can never stop a trial within max_steps, in one line; None if it can.

    A trial is judged only at its evaluations (every eval_interval steps) before max_steps
    (PruningReporter never prunes the last), and the pruner acts only from its own first
    step on: median from n_warmup_steps, successive halving and Hyperband from min_resource.
    hparams_search=hier_optuna run with max_steps=1500 waits for step 4000: nothing is pruned,
    and without this line nothing says so.
    """
    spec = dict(spec or {})
    key = {"median": "n_warmup_steps", "successive_halving": "min_resource", "hyperband": "min_resource"}.get(
        spec.get("name") or "none")
    if key is None or not isinstance(max_steps, int) or not isinstance(eval_interval, int):
        return None
    first = spec.get(key, 0)
    if not isinstance(first, int) or isinstance(first, bool):
        return None  # "auto": the pruner picks its first rung from the trials themselves
    setting = f"hydra.sweeper.pruner.{key}={first}"
    if first >= max_steps:
        return f"{setting} is not below max_steps={max_steps}: no trial can be pruned"
    # the first evaluation at or after the pruner's first step (evaluations: eval_interval, 2 x, ...)
    judged_at = max(1, -(-first // eval_interval)) * eval_interval if eval_interval > 0 else max_steps
    if judged_at >= max_steps:
        return (f"no evaluation (eval_interval={eval_interval}) falls at or after {setting} and before "
                f"max_steps={max_steps}: no trial can be pruned")
    return None


def build_sampler(spec: dict[str, Any] | None) -> Any:
    import optuna

    spec = dict(spec or {})
    name, seed = spec.get("name", "tpe"), spec.get("seed")
    if name == "tpe":
        # constant_liar: trials of one batch, asked before any is told, spread out instead of
        # all landing on the same promising point.
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=int(spec.get("n_startup_trials", 10)), constant_liar=True
        )
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ConfigError(f"hydra.sweeper.sampler.name={name!r} is not allowed: choose one of {', '.join(SAMPLERS)}")


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
    return [f"++{TRIAL_KEY}.storage={quoted(storage_name)}", f"++{TRIAL_KEY}.study={quoted(study_name)}",
            f"++{TRIAL_KEY}.trial={number}"]


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
    return (f"importances rest on {finished} finished trial{'s' if finished != 1 else ''} (fewer than {FEW_TRIALS}): "
            "read them as a hint, not a ranking")


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
        return {"values": {}, "finished": len(finished), "caveat": None,
                "why_none": f"importances need two finished trials with different val losses ({len(finished)} so far)"}
    try:
        values = dict(optuna.importance.get_param_importances(study, target=None))
    except (ValueError, RuntimeError) as err:  # e.g. trials that searched different keys
        return {"values": {}, "finished": len(finished), "caveat": None, "why_none": f"Optuna could not rank them: {err}"}
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
    lines = [f"## {study.study_name}", "",
             f"Objective: **{METRIC_NAME}**, the validation split's loss at the end of each trial (lower is better). "
             "Pruned trials show their val loss at each evaluation under Intermediate Values.",
             "", f"{finished} finished trial{'s' if finished != 1 else ''}."]
    caveat = importance_caveat(finished)
    if caveat:
        lines += ["", f"**Careful:** {caveat}; the same goes for the slice and contour plots."]
    save_note(study, "\n".join(lines))
