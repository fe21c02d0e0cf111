"""hydra/sweeper=wavenet_optuna: the Hydra side of the sweeper; the search lives in _search.py.

Hydra imports this module whenever it looks for plugins (every `wavenet-train` run), so
Optuna is imported only when a sweep starts.
"""

from __future__ import annotations

from typing import Any

from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf


class WavenetOptunaSweeper(Sweeper):
    """Asks an Optuna study for trials, launches them in batches, tells it the results."""

    def __init__(
        self,
        n_trials: int,
        n_jobs: int,
        direction: str,
        study_name: str,
        storage: str | None,
        sampler: Any,
        pruner: Any,
        params: Any,
    ) -> None:
        self.settings = {
            "n_trials": n_trials,
            "n_jobs": n_jobs,
            "direction": direction,
            "study_name": study_name,
            "storage": storage,
            "sampler": OmegaConf.to_container(sampler, resolve=True) if isinstance(sampler, DictConfig) else sampler,
            "pruner": OmegaConf.to_container(pruner, resolve=True) if isinstance(pruner, DictConfig) else pruner,
            "params": OmegaConf.to_container(params, resolve=True) if isinstance(params, DictConfig) else params,
        }
        self.search: Any = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from hydra_plugins.wavenet_optuna_sweeper._search import StudySearch

        self.search = StudySearch(self, self.settings)
        self.search.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> Any:
        return self.search.sweep(arguments)
