"""Hydra callbacks and the resolver: run directories and sweep folders kept one run's, and a
sweep's last screen.

conf/train.yaml names them: `${wavenet_unique:}` (a random token in default run directory
names) and RunDirGuard (before Hydra makes any folder: refuses a sweep folder that is not
this sweep's, locks the one it takes) and SweepSummary (a sweep's last screen and exit
code). Hydra's `.hydra/` files are written by the job once every check has passed
(train.yaml sets `hydra.output_subdir: null`; Hydra's cli.log is opened only when
something is logged), and a refused run removes the folders Hydra made for it
(missing_ancestors / remove_if_empty). The rules themselves are tracking/rundir.py's.
"""

from __future__ import annotations

import io
import secrets
import shutil
import typing
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from wavenet_harness.base.errors import RunDirTaken, exit_with_error
from wavenet_harness.base.files import read_regular_text, write_atomic
from wavenet_harness.base.passwords import mask_secrets, masked
from wavenet_harness.base.records import HYDRA_DIR, JOURNAL_NAME, SWEEP_CONFIG_NAME
from wavenet_harness.sweeps.launch import collect_jobs, every_job_failed, format_summary
from wavenet_harness.tracking.rundir import FolderLock, check_not_locked, lock_folder

UNIQUE_RESOLVER = "wavenet_unique"
TOKEN_BYTES = 3  # 6 hex characters: 16.7 million names per second


def register_unique_resolver() -> None:
    """`${wavenet_unique:}` -> a random token, the same for every read of one config."""
    if not OmegaConf.has_resolver(UNIQUE_RESOLVER):
        OmegaConf.register_new_resolver(UNIQUE_RESOLVER, lambda: secrets.token_hex(TOKEN_BYTES), use_cache=True)


def save_hydra_files(run_dir: Path, task_cfg: Any, hydra_cfg: Any, overrides: Any) -> None:
    """What Hydra writes to .hydra/ (config.yaml, hydra.yaml, overrides.yaml), from plain
    containers the caller has already cleaned of secrets."""
    folder = run_dir / HYDRA_DIR
    folder.mkdir(exist_ok=True)
    for name, node in (("config.yaml", task_cfg), ("hydra.yaml", hydra_cfg), ("overrides.yaml", overrides)):
        _write_yaml(folder / name, node)


def _write_yaml(path: Path, node: Any) -> None:
    text = OmegaConf.to_yaml(OmegaConf.create(node))
    write_atomic(path, lambda f: f.write(text))


def save_job_hydra_files(run_dir: Path, cfg: DictConfig) -> None:
    """The .hydra/ files of the job Hydra runs now (its task config `cfg`, HydraConfig's node
    and the job's overrides), unresolved as Hydra writes them, any database password masked.
    The job calls it once the run has passed its checks (wavenet-train and the Python API alike)."""
    from hydra.core.hydra_config import HydraConfig

    # Hydra annotates this HydraConf | None; once a job runs it is the root config masked to its `hydra` node.
    hydra_root = typing.cast(DictConfig, HydraConfig.instance().cfg)
    task, hydra_node, overrides = (
        OmegaConf.to_container(node, resolve=False) for node in (cfg, hydra_root, hydra_root.hydra.overrides.task)
    )
    save_hydra_files(run_dir, mask_secrets(task), mask_secrets(hydra_node), mask_secrets(overrides))


def missing_ancestors(run_dir: Path) -> list[Path]:
    """The folders of `run_dir` (itself first) that do not exist yet."""
    missing = []
    for folder in (run_dir, *run_dir.parents):
        if folder.exists():
            break
        missing.append(folder)
    return missing


def remove_if_empty(folders: list[Path]) -> None:
    """Undo the folders a refused run had made for it: deepest first, only while empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


# The folders Hydra is about to create for this process's single run (see RunDirGuard).
CREATED_FOR_THIS_RUN: list[Path] = []
# The sweep folder this process sweeps into: locked until the process ends.
SWEEP_LOCKS: list[FolderLock] = []
OPTUNA_SWEEPER = "wavenet_optuna"


class RunDirGuard(Callback):
    """Hydra callback (conf/train.yaml hydra.callbacks), before Hydra makes any folder.

    A single run notes which folders of its run directory do not exist yet, so a refused
    run can remove them again. A multirun is refused (one line, exit 2, nothing written):
    on hydra/launcher=slurm without SLURM; with hydra.launcher.n_jobs=0; into a sweep
    folder another live process sweeps into (its lock; the workers of one search share
    theirs, as docs/sweeps.md runs them); into a folder that already holds a
    sweep's jobs unless resume=true; a search (hydra/sweeper=wavenet_optuna) into a folder
    that holds a plain sweep or another study's search (a search folder is its study's
    home: running the same command again continues the study, in new job folders). Then
    the sweep folder is made and locked for the rest of the process.
    """

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        CREATED_FOR_THIS_RUN[:] = missing_ancestors(Path(str(config.hydra.run.dir)))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # A multirun earlier in this process (tests run many) may have ended without
        # on_multirun_end (a summary that exits first): its sweep is over, so is its lock.
        self.on_multirun_end(config)
        launcher = str(config.hydra.launcher.get("_target_", ""))
        if "slurm" in launcher.lower() and shutil.which("sbatch") is None:  # before the sweep folder is made
            exit_with_error(
                "hydra/launcher=slurm needs a SLURM cluster (no sbatch on this machine); "
                "use hydra/launcher=parallel here"
            )
        if "joblib" in launcher.lower() and config.hydra.launcher.get("n_jobs") == 0:
            exit_with_error(
                "hydra.launcher.n_jobs=0 is not allowed: give the number of jobs to run at once "
                "(1 or more; -1: one per core)"
            )
        sweep_dir = Path(str(config.hydra.sweep.dir))
        search = _sweep_kind(config.hydra.sweeper) == "search"  # its workers may share the folder
        try:
            if sweep_dir.is_dir():
                check_not_locked(sweep_dir, "sweep folder", shared=search)
            problem = _sweep_folder_problem(config, sweep_dir)
            if problem:
                exit_with_error(problem)
            try:
                sweep_dir.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                exit_with_error(f"cannot create the sweep folder {sweep_dir}: {err.strerror or err}")
            SWEEP_LOCKS.append(lock_folder(sweep_dir, "sweep folder", shared=search))
        except RunDirTaken as err:
            exit_with_error(str(err))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        while SWEEP_LOCKS:  # a sweep that raised keeps its lock until the process ends
            SWEEP_LOCKS.pop().release()


FRESH_SWEEP = "leave out hydra.sweep.dir for a new folder"


def _sweep_kind(sweeper: Any) -> str:
    target = str(sweeper.get("_target_", "")) if sweeper is not None else ""
    return "search" if OPTUNA_SWEEPER in target.lower() else "sweep"


def _sweep_folder_problem(config: DictConfig, sweep_dir: Path) -> str | None:
    """Why this multirun may not use `sweep_dir` (None: it may)."""
    saved_path = sweep_dir / SWEEP_CONFIG_NAME
    if not saved_path.exists():
        return None
    kind = _sweep_kind(config.hydra.sweeper)
    try:
        saved = OmegaConf.load(io.StringIO(read_regular_text(saved_path)))
        saved_sweeper = saved.hydra.sweeper
    except Exception:  # damaged or not Hydra's: whose folder it is cannot be told
        return f"{sweep_dir} holds a {SWEEP_CONFIG_NAME} that cannot be read; {FRESH_SWEEP}"
    saved_kind = _sweep_kind(saved_sweeper)
    fresh = FRESH_SWEEP
    if kind != saved_kind:
        what = "an Optuna search" if saved_kind == "search" else "a plain sweep"
        return f"{sweep_dir} holds {what}; a {kind} cannot continue it there: {fresh}"
    if kind == "search":
        for key in ("study_name", "storage"):
            mine, theirs = masked(str(config.hydra.sweeper.get(key))), masked(str(saved_sweeper.get(key)))
            if mine != theirs:
                return (
                    f"{sweep_dir} holds the search with hydra.sweeper.{key}={masked(str(theirs))}; "
                    f"continue it with that {key}, or {fresh}"
                )
        return None
    if config.get("resume") is not True:
        return (
            f"{sweep_dir} already holds a sweep ({SWEEP_CONFIG_NAME}); continue its jobs with resume=true "
            f"hydra.sweep.dir={sweep_dir}, or {fresh}"
        )
    return None


class SweepSummary(Callback):
    """Hydra callback (conf/train.yaml hydra.callbacks): the sweep's last words and exit code."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        jobs = collect_jobs(sweep_dir)
        print(format_summary(jobs, sweep_dir, _study_storage(config, sweep_dir)), flush=True)
        if every_job_failed(jobs):
            exit_with_error("every job of the sweep failed (see the errors above)", code=1)


def _study_storage(config: DictConfig, sweep_dir: Path) -> str | None:
    """An Optuna search's storage as a person would type it: the journal in the sweep folder,
    or the database URL without its password; None for a grid sweep."""
    sweeper = config.hydra.get("sweeper") or {}
    if "optuna" not in str(sweeper.get("_target_", "")).lower():
        return None
    storage = sweeper.get("storage")
    return masked(str(storage)) if storage else str(sweep_dir / JOURNAL_NAME)
