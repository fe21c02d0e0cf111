"""`wavenet-train`: Hydra composes conf/ and the command line, adapter/job.py does the job.

The CLI validates the config and hands the job the listeners its sweeper needs (an Optuna
trial's pruning reporter).

The task function returns the final validation loss, the number every Hydra sweeper
optimises. Mistakes in what the user typed end a single run with exit code 2 and one
line; inside a multirun they are recorded as that job's failure and the sweep goes on.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shlex
import signal
import sys
import typing
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from wavenet_harness.adapter.argv import move_storage_password_to_env
from wavenet_harness.adapter.callbacks import (
    CREATED_FOR_THIS_RUN,
    register_unique_resolver,
    remove_if_empty,
    save_job_hydra_files,
)
from wavenet_harness.adapter.config import config_dir, register_plugins, validate
from wavenet_harness.adapter.job import run_training
from wavenet_harness.adapter.schema import explain_config_error
from wavenet_harness.base.errors import (
    RunDirTaken,
    UsageError,
    UserError,
    error_line,
    exit_with_error,
    explain_os_error,
)
from wavenet_harness.base.records import SWEEP_CONFIG_NAME
from wavenet_harness.base.run_config import RunConfig
from wavenet_harness.cli import version_line
from wavenet_harness.sweeps import launch as sweep
from wavenet_harness.sweeps.study import job_listeners
from wavenet_harness.tracking.console import print_summary
from wavenet_harness.tracking.hparams import swept_overrides
from wavenet_harness.training.device import sweep_job_threads

PROG = "wavenet-train"
# Loaded in every process that runs a job (joblib and submitit workers too).
register_unique_resolver()


def _rerun_command(run_dir: str) -> str:
    overrides = [o for o in HydraConfig.get().overrides.task if not o.startswith(("resume=", "hydra.run.dir="))]
    return shlex.join(["wavenet-train", *overrides, f"hydra.run.dir={run_dir}", "resume=true"])


def _resume_sweep_command() -> str:
    """The command line this sweep was started with, pointed at its directory, resume=true."""
    args = [a for a in sys.argv[1:] if not a.startswith(("resume=", "hydra.sweep.dir="))]
    return shlex.join(["wavenet-train", *args, f"hydra.sweep.dir={HydraConfig.get().sweep.dir}", "resume=true"])


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="train")
def train_task(cfg: DictConfig) -> float:
    hydra_cfg = HydraConfig.get()
    run_dir = hydra_cfg.runtime.output_dir
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    swept = _swept_overrides(hydra_cfg) if multirun else None
    try:
        config = _run_config(cfg, hydra_cfg, multirun)
        metrics = run_training(
            config,
            Path(run_dir),
            listeners=job_listeners(config),
            on_claim=lambda folder: save_job_hydra_files(folder, cfg),
            swept=swept,
            overrides=[str(o) for o in hydra_cfg.overrides.task],
        )
    except Exception as err:
        return _job_failed(err, hydra_cfg, Path(run_dir), cfg, multirun)
    print_summary(metrics, run_dir)
    if metrics["status"] == "interrupted":
        print(f"interrupted; checkpoint saved. Resume with:\n  {_rerun_command(run_dir)}", file=sys.stderr)
        if not multirun:
            sys.exit(_interrupted_exit_code(metrics))
        if hydra_cfg.launcher._target_.endswith(".BasicLauncher"):  # jobs run here: Ctrl-C stops the sweep
            print(f"sweep stopped. Resume all its jobs with:\n  {_resume_sweep_command()}", file=sys.stderr)
            sys.exit(130)
    if not multirun and metrics["status"] != "ok":  # diverged or failed: `wavenet-train ... && next` stops here
        sys.exit(1)
    val_loss = metrics.get("val_loss")
    return float(val_loss) if val_loss is not None else math.nan


def _run_config(cfg: DictConfig, hydra_cfg, multirun: bool) -> RunConfig:
    """The job's typed config, checked once; a search chosen without --multirun is refused."""
    search = hydra_cfg.runtime.choices.get("hparams_search")
    if search and not multirun:
        raise UsageError(
            f"hparams_search={search} is a search: run it with --multirun "
            f"(wavenet-train --multirun hparams_search={search} ...)"
        )
    plain = typing.cast(dict[str, Any], OmegaConf.to_container(cfg, resolve=True))  # a DictConfig's container is a dict
    config = validate(
        plain,
        overrides=list(hydra_cfg.overrides.task),
        notes=lambda line: print(f"{PROG}: note: {line}", file=sys.stderr),
    )
    threads = sweep_job_threads(config.threads, hydra_cfg.launcher if multirun else None)
    return dataclasses.replace(config, threads=threads)


def _job_failed(err: Exception, hydra_cfg, run_dir: Path, cfg: DictConfig, multirun: bool) -> float:
    """A job that raised: inside a sweep a result (the sweep goes on), else one line and exit 2."""
    if multirun and isinstance(err, RunDirTaken):  # another run's directory: leave it be
        error_line(PROG, f"job {hydra_cfg.job.num}: {err}")
        return math.nan
    if multirun:  # failure is a result in the job's own folder: record it, the sweep goes on
        sweep.record_failure(run_dir, err, isinstance(err, UserError))
        save_job_hydra_files(run_dir, cfg)  # which overrides failed, for the summary and reports
        return math.nan
    if not isinstance(err, UserError):
        raise err
    remove_if_empty(CREATED_FOR_THIS_RUN)  # a refused run leaves nothing behind
    exit_with_error(str(err), PROG)


def _interrupted_exit_code(metrics: dict) -> int:
    """128 + the signal's number, as a shell reports a process stopped by it (Ctrl-C: 130)."""
    name = metrics.get("signal") or "Ctrl-C"
    return 130 if name == "Ctrl-C" else 128 + int(getattr(signal, name, signal.SIGINT))


def _swept_overrides(hydra_cfg) -> list[str]:
    """This job's overrides that the sweep's command line did not give to every job.

    Every sweeper saves the sweep's own config (with the command line's overrides, e.g.
    `lr=0.05,0.1`) in the sweep dir (multirun.yaml) before it launches a job.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    job = [str(o) for o in hydra_cfg.overrides.task]
    try:
        saved = OmegaConf.load(Path(hydra_cfg.sweep.dir) / SWEEP_CONFIG_NAME)
        parsed = OverridesParser.create().parse_overrides([str(o) for o in saved.hydra.overrides.task])
        fixed = {o.get_key_element().lstrip("+~") for o in parsed if not o.is_sweep_override()}
    except Exception:  # no readable multirun.yaml (an unusual sweeper): every override names the job
        fixed = set()
    return swept_overrides(job, fixed)


def main() -> None:
    if "--version" in sys.argv[1:]:
        print(version_line(PROG))
        return
    register_plugins()
    # Hydra prints its own multi-line report and exits 1 unless HYDRA_FULL_ERROR=1, in which
    # case it lets the exception through: ask for that, then tell config mistakes in one
    # line with exit code 2. A user who set HYDRA_FULL_ERROR=1 still gets the traceback.
    wants_traceback = os.environ.get("HYDRA_FULL_ERROR") == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"
    # A password in hydra.sweeper.storage goes to PGPASSWORD before Hydra sees (and prints) it.
    try:
        moved = move_storage_password_to_env(sys.argv[1:])
    except UsageError as err:
        exit_with_error(str(err), PROG)
    if moved != sys.argv[1:] and os.path.isfile(sys.argv[0]):
        # Start again without it: a long search's command line (`ps`, /proc/PID/cmdline) is
        # readable by every user, its environment only by its owner.
        os.execv(sys.executable, [sys.executable, sys.argv[0], *moved])
    sys.argv[1:] = moved
    try:
        train_task()
    except KeyboardInterrupt:  # Ctrl-C outside the training loop (which saves and returns itself)
        exit_with_error(
            "interrupted outside the training loop; the run directory keeps its last checkpoint, if any", PROG, code=130
        )
    except BrokenPipeError:
        raise  # stdout's reader is gone (`| head`): the console scripts' hook ends quietly
    except Exception as err:
        message = None if wants_traceback else explain_config_error(err, sys.argv[1:]) or explain_os_error(err)
        if message is None:
            raise
        exit_with_error(message, PROG)


if __name__ == "__main__":
    main()
