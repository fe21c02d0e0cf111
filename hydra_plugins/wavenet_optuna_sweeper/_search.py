"""The search loop: ask a batch of trials, launch them as jobs, tell the study how each ended.

  status in the job's metrics.json -> what the study is told
  ok (finite val loss)             -> COMPLETE with the val loss
  pruned                           -> PRUNED (the job reported and stopped itself)
  diverged, failed, anything else  -> FAIL (the sweep goes on)
  interrupted (Ctrl-C)             -> FAIL flagged `requeued`, asked again next time; the sweep stops

n_trials is the size of the whole study: rerunning the same command (same storage) keeps
the finished trials and runs only the rest. A trial left RUNNING by a sweep process of
this machine that no longer exists (killed) is marked FAIL, flagged `requeued` so it does
not count, and its parameters are asked again.
"""

from __future__ import annotations

import json
import math
import os
import random
import socket
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf
from optuna.trial import FrozenTrial, TrialState

from hydra_plugins.wavenet_optuna_sweeper._space import build_distributions, override_value
from wavenet_harness.base.errors import ConfigError, exit_with_error
from wavenet_harness.base.passwords import has_password, mask_secrets, masked, remember_secrets_in
from wavenet_harness.base.records import JOURNAL_NAME, load_run, mark_ended
from wavenet_harness.sweeps.launch import fit
from wavenet_harness.sweeps.study import (
    METRIC_NAME,
    PRUNER_ATTR,
    build_pruner,
    build_sampler,
    importance_caveat,
    open_storage,
    trial_overrides,
    write_dashboard_note,
)

WORKER = f"{socket.gethostname()}:{os.getpid()}"


def one_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    return " ".join(lines[:3]) if lines else type(err).__name__




def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def counted_trials(study: optuna.Study) -> int:
    """Trials that count toward n_trials: finished or running, not waiting, not requeued."""
    total = 0
    for trial in study.get_trials(deepcopy=False):
        if trial.state == TrialState.WAITING:
            continue
        if trial.state == TrialState.FAIL and trial.user_attrs.get("requeued"):
            continue
        total += 1
    return total


def check_journal_ends_whole(journal: Path) -> None:
    """Refuse a journal whose last record was cut mid-write (a killed process, a full disk).

    Optuna skips such a line when it reads, but appends the next record straight after it,
    which turns the cut line into a damaged one in the middle of the file: the search would
    then fail later, in a traceback. Nothing is changed here; the user decides.
    """
    try:
        with open(journal, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            if size == 0:
                return
            f.seek(max(0, size - 1))
            last = f.read(1)
    except FileNotFoundError:
        return
    if last != b"\n":
        raise ConfigError(f"{journal} ends in a cut record (a process was stopped while writing it): keep a copy, "
                               f"then remove its last, incomplete line (sed -i '$ d' {journal}) and run again")


def check_storage(storage: str | None) -> None:
    """A storage URL's password is masked from here on; one in the URL itself is refused."""
    if storage:
        remember_secrets_in(storage)  # masked wherever it shows up from here on
    if storage and has_password(storage):
        # Only a password typed on the command line is moved to PGPASSWORD (cli/train.py);
        # one from a config file would be written into every job's files.
        raise ConfigError(f"hydra.sweeper.storage={masked(storage)} holds a password: give the URL without it and put "
                          "the password in ~/.pgpass or PGPASSWORD (see README, Sweeps)")


class StudySearch:
    def __init__(self, sweeper: Any, settings: dict[str, Any]):
        self.sweeper = sweeper  # the Hydra Sweeper: its launcher and batch validation
        self.settings = settings
        self.job_idx = 0

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.hydra_context = hydra_context
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )
        self.sweeper.hydra_context, self.sweeper.config, self.sweeper.launcher = hydra_context, config, self.launcher

    def sweep(self, arguments: list[str]) -> list[Sequence[JobReturn]]:
        try:
            return self._sweep(arguments)
        except (ConfigError, json.JSONDecodeError) as err:
            # Bad input (or a journal damaged while the search ran): one line and exit 2, never a traceback.
            if isinstance(err, json.JSONDecodeError):
                err = ConfigError(f"the study's journal is damaged ({err}); keep a copy and remove the bad line")
            exit_with_error(str(err))

    def _sweep(self, arguments: list[str]) -> list[Sequence[JobReturn]]:
        s = self.settings
        if int(s["n_trials"]) < 1 or int(s["n_jobs"]) < 1:
            raise ConfigError("hydra.sweeper.n_trials and hydra.sweeper.n_jobs must be positive whole numbers")
        fixed, fixed_keys = self._fixed_overrides(arguments)
        space = {k: v for k, v in build_distributions(s["params"]).items() if k not in fixed_keys}
        if not space:
            raise ConfigError("the search space is empty: set hydra.sweeper.params (see conf/hparams_search/)")

        check_storage(s["storage"])
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(OmegaConf.create(mask_secrets(OmegaConf.to_container(self.config))), sweep_dir / "multirun.yaml")
        storage_name = s["storage"] or str((sweep_dir / JOURNAL_NAME).resolve())
        if not s["storage"]:
            check_journal_ends_whole(Path(storage_name))
        study = self._prepare_study(storage_name, sweep_dir)

        returns: list[Sequence[JobReturn]] = []
        while (remaining := int(s["n_trials"]) - counted_trials(study)) > 0:
            trials = [study.ask(space) for _ in range(min(int(s["n_jobs"]), remaining))]
            for trial in trials:
                trial.set_user_attr("worker", WORKER)
            batch = [
                [*fixed, *(f"{k}={override_value(v)}" for k, v in t.params.items()),
                 *trial_overrides(storage_name, s["study_name"], t.number), f"hydra.sweep.subdir={t.number}"]
                for t in trials
            ]
            try:  # a search key the config does not have: the user's mistake, told in one line
                self.sweeper.validate_batch_is_legal(batch)
            except Exception as err:
                for trial in trials:  # the user's mistake, not the trial's: it must not count toward n_trials
                    trial.set_user_attr("requeued", True)
                    study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
                raise ConfigError(f"the trial overrides {batch[0]} do not compose: {one_line(err)}") from None
            try:
                results = self.launcher.launch(batch, initial_job_idx=self.job_idx)
            except BaseException:
                for trial in trials:  # let the next run of the command ask them again
                    trial.set_user_attr("requeued", True)
                    study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
                    study.enqueue_trial(trial.params)
                raise
            self.job_idx += len(batch)
            statuses = [self._tell(study, trial, result, sweep_dir / str(trial.number))
                        for trial, result in zip(trials, results, strict=True)]
            returns.append(results)
            if "interrupted" in statuses:  # Ctrl-C: stop here; the same command continues later
                print("interrupted: run the same command again to continue the study", flush=True)
                break
        self._print_best(study)
        try:
            write_dashboard_note(study)
        except Exception as err:  # a note is a courtesy; the search's results are already stored
            print(fit(f"(no optuna-dashboard note: {one_line(err)})"), flush=True)
        return returns

    def _prepare_study(self, storage_name: str, sweep_dir: Path) -> optuna.Study:
        """The study, with its pruner and metric name stored and stale trials asked again."""
        s = self.settings
        storage, study = self._open_study(storage_name)
        study.set_user_attr(PRUNER_ATTR, s["pruner"])
        with warnings.catch_warnings():  # experimental since Optuna 3.2, and what optuna-dashboard reads
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([METRIC_NAME])
        study_id = storage.get_study_id_from_name(s["study_name"])
        self._requeue_stale(study, storage, study_id, sweep_dir)
        print(f"study {s['study_name']!r} in {masked(storage_name)}: {counted_trials(study)} of {s['n_trials']} trials "
              "already there", flush=True)
        return study

    def _open_study(self, storage_name: str) -> tuple[Any, optuna.Study]:
        """Create or load the study; workers starting together on one new database may race
        to create its tables, so a failed first attempt is retried."""
        s = self.settings
        for attempt in range(3):
            try:
                storage = open_storage(storage_name)
                return storage, optuna.create_study(
                    storage=storage, study_name=s["study_name"], sampler=build_sampler(s["sampler"]),
                    pruner=build_pruner(s["pruner"]), direction=s["direction"], load_if_exists=True,
                )
            except ConfigError:
                raise
            except Exception as err:
                if attempt == 2:
                    raise ConfigError(f"cannot open the study in {masked(storage_name)}: {one_line(err)}") from None
                time.sleep(0.5 + random.random())
        raise AssertionError("unreachable")

    def _fixed_overrides(self, arguments: list[str]) -> tuple[list[str], set[str]]:
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        keys = set()
        for override in parser.parse_overrides(arguments):
            if override.is_sweep_override():
                raise ConfigError(
                    f"{override.input_line} is a sweep: with hydra/sweeper=wavenet_optuna put ranges in "
                    "hydra.sweeper.params, and give fixed values on the command line"
                )
            keys.add(override.get_key_element().lstrip("+~"))
        return list(arguments), keys

    def _requeue_stale(self, study: optuna.Study, storage: Any, study_id: int, sweep_dir: Path) -> None:
        host = socket.gethostname()
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            worker_host, _, pid = str(trial.user_attrs.get("worker", "")).rpartition(":")
            if worker_host != host or not pid.isdigit() or _alive(int(pid)):
                continue  # another live sweep's trial, or another machine's: not ours to judge
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
            storage.set_trial_user_attr(trial_id, "requeued", True)
            study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
            study.enqueue_trial(trial.params)
            if load_run(sweep_dir / str(trial.number)).status == "running":  # killed with its sweep: say so
                mark_ended(sweep_dir / str(trial.number), "interrupted",
                           "its sweep was stopped while it ran; its parameters are asked again")
            print(f"trial {trial.number} was left running by a stopped sweep: marked failed, asked again", flush=True)

    @staticmethod
    def _tell(study: optuna.Study, trial: optuna.trial.Trial, result: JobReturn, run_dir: Path) -> str:
        record = load_run(run_dir)
        error = record.error
        if result.status == JobStatus.FAILED:
            status, value = "failed", None
            error = error or repr(result._return_value)
        elif record.status in ("missing", "unreadable"):
            status, value = "failed", result.return_value
        else:
            status, value = record.status, result.return_value
        trial.set_user_attr("status", status)
        trial.set_user_attr("run_dir", str(run_dir))
        if error:
            trial.set_user_attr("error", str(error)[:500])
        if status == "ok" and isinstance(value, (int, float)) and math.isfinite(value):
            study.tell(trial, float(value))
            shown = f"val loss {value:.4f}"
        elif status == "pruned":
            study.tell(trial, state=TrialState.PRUNED)
            shown = error or "pruned"
        elif status == "interrupted":  # not the trial's fault: does not count, asked again
            trial.set_user_attr("requeued", True)
            study.tell(trial, state=TrialState.FAIL)
            study.enqueue_trial(trial.params)
            shown = "interrupted; its parameters will be asked again"
        else:
            study.tell(trial, state=TrialState.FAIL)
            shown = error or "no result"
        params = " ".join(f"{k}={override_value(v)}" for k, v in trial.params.items())
        print(fit(f"trial {trial.number}: {status}: {shown}  [{params}]"), flush=True)
        return status

    @staticmethod
    def _print_best(study: optuna.Study) -> None:
        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not done:
            return
        best = min(done, key=_value) if study.direction.name == "MINIMIZE" else max(done, key=_value)
        params = " ".join(f"{k}={override_value(v)}" for k, v in best.params.items())
        print(fit(f"best trial {best.number}: val loss {best.value:.4f}  [{params}]"), flush=True)
        caveat = importance_caveat(len(done))
        if caveat:
            print(fit(f"note: {caveat}"), flush=True)


def _value(trial: FrozenTrial) -> float:
    return cast(float, trial.value)  # a COMPLETE trial always holds its value
