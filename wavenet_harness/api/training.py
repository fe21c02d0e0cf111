"""`train()`: one run from Python, as `wavenet-train` with the same overrides does it.

The same Hydra run: Hydra's own `run` (compose conf/ with the overrides in run mode, the
`hydra.run.dir` pattern, the callbacks that guard the run directory, `hydra.job.name`
"train"), then the job the CLI's task runs: validate -> adapter/job.py's run_training with
the same listeners -> .hydra/ files written once the checks pass. So the run folder holds
the same files and the run the same numbers, bit for bit. Hydra's logging setup is left
out (the CLI's only log file is opened when something is logged) so that a notebook's
logging is not reconfigured.

What differs is how it ends: a mistake raises the CLI's one line as a UserError (removing
the folders made for the refused run, as the CLI does), never SystemExit; Ctrl-C (in a
notebook: interrupting the kernel) during training saves the checkpoint as SIGINT does on
the CLI, then raises Interrupted, which holds the Run and says how to resume.
"""

from __future__ import annotations

import os
import sys
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from wavenet_harness.adapter.callbacks import CREATED_FOR_THIS_RUN, remove_if_empty, save_job_hydra_files
from wavenet_harness.adapter.config import validate
from wavenet_harness.adapter.job import run_training
from wavenet_harness.api.overrides import as_overrides, call_text, hydra_value, override_key
from wavenet_harness.api.results import Interrupted, Run, shown_path
from wavenet_harness.api.session import CONFIG_NAME, composition_errors, hydra_session, user_errors_in_one_line
from wavenet_harness.base.errors import ConfigError, RunDirError, UsageError, UserError, explain_os_error
from wavenet_harness.sweeps.study import job_listeners
from wavenet_harness.tracking.console import print_summary

PROG = "wavenet_harness.train"


@dataclass
class _Outcome:
    """What the task hands back through Hydra: the run's metrics, or what stopped it."""

    run_dir: Path
    metrics: dict[str, Any] | None = None
    error: BaseException | None = None


@user_errors_in_one_line
def train(*overrides: str, run_dir: str | Path | None = None, **keys: Any) -> Run:
    """Train one run, as `wavenet-train <overrides>` does, and return it.

    `overrides` are the command line's ("model=conv", "log.samples=0", "hydra.run.dir=...");
    `keys` are the same as keywords (n_hidden=128, lr=1e-3, resume=True, and a section as a
    dict: log={"samples": 0}). `run_dir` is the run directory (hydra.run.dir), by default a
    new runs/<date>/<time>-<token>/ under the current folder. Raises a UserError (ConfigError,
    DataError, CheckpointError, RunDirError, ...) with the CLI's one line for a mistake, and
    Interrupted when a stop (Ctrl-C, stop()) ended the run after saving its checkpoint.
    A diverged run is returned: its status says so.
    """
    given = as_overrides(overrides, keys)
    if run_dir is not None:
        given.append(f"hydra.run.dir={hydra_value(os.fspath(run_dir))}")
    _refuse_sweep_syntax(given)
    outcome = _run_in_hydra(given)
    if outcome.error is not None:
        raise outcome.error
    run = Run(outcome.run_dir)
    assert outcome.metrics is not None  # a job that did not raise has its metrics
    if outcome.metrics["status"] == "interrupted":
        again = [o for o in overrides if override_key(o) not in ("resume", "hydra.run.dir")]
        keys = {k: v for k, v in keys.items() if k != "resume"}
        resume = call_text("train", again, **keys, run_dir=shown_path(outcome.run_dir), resume=True)
        raise Interrupted(
            f"interrupted at step {outcome.metrics.get('steps')}; checkpoint saved. Resume with {resume}", run=run
        )
    return run


def _refuse_sweep_syntax(overrides: list[str]) -> None:
    """`n_hidden=64,128` is a sweep: the CLI would ask for --multirun, this for sweep()."""
    for override in overrides:
        try:
            parsed = OverridesParser.create().parse_override(override)
        except Exception:  # a malformed override: composing says what is wrong with it
            continue
        if parsed.is_sweep_override():
            raise ConfigError(
                f"{override} is a sweep (several values): use wavenet_harness.sweep({override!r}, ...), "
                "or give one value"
            )


def _run_in_hydra(overrides: list[str]) -> _Outcome:
    """Hydra's run of the task with these overrides, in this process's Hydra session."""
    with hydra_session() as hydra:
        try:
            with composition_errors(overrides):
                job = hydra.run(
                    config_name=CONFIG_NAME,
                    task_function=_task,
                    overrides=[*overrides, "hydra.mode=RUN"],
                    with_log_configuration=False,
                )
        except OSError as err:  # Hydra could not make the run directory
            message = explain_os_error(err)
            if message is None:
                raise
            raise RunDirError(message) from None
        return job.return_value


def _task(cfg: DictConfig) -> _Outcome:
    """The job, as cli/train.py's task runs it for a single run; every exception comes back
    in the outcome (Hydra would print its own report of one)."""
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    overrides = [str(o) for o in hydra_cfg.overrides.task]
    try:
        search = hydra_cfg.runtime.choices.get("hparams_search")
        if search:
            raise UsageError(
                f"hparams_search={search} is a search: run it with "
                f"wavenet_harness.sweep('hparams_search={search}', ...)"
            )
        config = validate(
            typing.cast(dict[str, Any], OmegaConf.to_container(cfg, resolve=True)),  # a DictConfig's is a dict
            overrides=overrides,
            notes=lambda line: print(f"{PROG}: note: {line}", file=sys.stderr),
        )
        metrics = run_training(
            config,
            run_dir,
            listeners=job_listeners(config),
            on_claim=lambda folder: save_job_hydra_files(folder, cfg),
            overrides=overrides,
        )
    except Exception as err:
        if isinstance(err, UserError):
            remove_if_empty(CREATED_FOR_THIS_RUN)  # a refused run leaves nothing behind
        elif explain_os_error(err):
            err = RunDirError(explain_os_error(err))
        return _Outcome(run_dir, error=err)
    print_summary(metrics, shown_path(run_dir), title=PROG)
    return _Outcome(run_dir, metrics=metrics)
