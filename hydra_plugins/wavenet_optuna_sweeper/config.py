"""The sweeper's settings, registered as hydra/sweeper=wavenet_optuna.

Hydra imports every module under hydra_plugins/ on start-up, so this file stays light:
Optuna itself is imported only when a sweep begins.
"""

# No `from __future__ import annotations` here: Hydra's plugin scanner executes this
# module before it is in sys.modules, and dataclasses cannot resolve string annotations then.
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class SamplerConf:
    name: str = "tpe"  # tpe | random
    seed: int | None = None
    n_startup_trials: int = 10  # tpe: random trials before the model of good and bad points


@dataclass
class PrunerConf:
    name: str = "median"  # median | successive_halving | hyperband | none
    n_startup_trials: int = 5  # median: finished trials before any pruning
    n_warmup_steps: int = 0  # median: no pruning before this training step
    # successive_halving, hyperband: steps of the first rung (successive_halving also "auto")
    min_resource: Any = "auto"
    # hyperband: steps of a full trial ("auto": the longest finished trial's; set it to
    # max_steps, or nothing is pruned before a first trial has run to the end)
    max_resource: Any = "auto"
    reduction_factor: int = 4  # keep 1 of every reduction_factor at each rung
    # hyperband: the first bootstrap_count trials to reach a rung stop there; later ones
    # go on only if they beat them (0: the first to arrive always goes on)
    bootstrap_count: int = 0


@dataclass
class WavenetOptunaSweeperConf:
    _target_: str = "hydra_plugins.wavenet_optuna_sweeper.sweeper.WavenetOptunaSweeper"
    # Trials the study should hold in total; trials from earlier runs of the command count.
    n_trials: int = 20
    # Trials running at once: the next is asked as soon as one ends (joblib, submitit, SLURM;
    # the basic launcher runs one at a time).
    n_jobs: int = 1
    direction: str = "minimize"  # of the val loss each job returns
    study_name: str = "wavenet"
    # null: an Optuna journal file in the sweep dir; or a SQLAlchemy URL
    # (sqlite:///study.db, postgresql://user@host:5432/db) shared by workers on many machines.
    storage: str | None = None
    sampler: SamplerConf = field(default_factory=SamplerConf)
    pruner: PrunerConf = field(default_factory=PrunerConf)
    # Search space: key -> {type: float|int|categorical, low, high, log, step, choices}
    params: dict[str, Any] = field(default_factory=dict)


ConfigStore.instance().store(
    group="hydra/sweeper", name="wavenet_optuna", node=WavenetOptunaSweeperConf, provider="wavenet_harness"
)
