"""The search loop: keep n_jobs trials running until the study holds n_trials, telling the
study how each trial's job ended the moment it ends (_trials.py says how each ending is told;
_slots.py runs the launches side by side).

n_trials is the size of the whole study: rerunning the same command (same storage) keeps
the finished trials and runs only the rest. A trial left RUNNING by a sweep process of
this machine that no longer exists (killed) is marked FAIL, flagged `requeued` so it does
not count, and its parameters are asked again. Each trial's job is numbered and foldered
by the trial's number, which the study hands out once, so jobs launched side by side (or
by workers on other machines sharing the study) never share a folder.
"""

from __future__ import annotations

import json
import os
import random
import socket
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf
from optuna.trial import TrialState

from hydra_plugins.wavenet_optuna_sweeper._slots import Slots, parallel_slots
from hydra_plugins.wavenet_optuna_sweeper._space import build_distributions, override_value
from hydra_plugins.wavenet_optuna_sweeper._trials import (
    alive,
    counted_trials,
    one_line,
    print_best,
    requeue,
    tell_outcome,
)
from wavenet_harness.base.errors import ConfigError, exit_with_error
from wavenet_harness.base.passwords import has_password, mask_secrets, masked, remember_secrets_in
from wavenet_harness.base.records import JOURNAL_NAME, load_run, mark_ended
from wavenet_harness.sweeps.launch import fit
from wavenet_harness.sweeps.pruners import build_pruner, build_sampler, pruning_blind_spot
from wavenet_harness.sweeps.study import METRIC_NAME, PRUNER_ATTR, open_storage, trial_overrides, write_dashboard_note

WORKER = f"{socket.gethostname()}:{os.getpid()}"


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
        raise ConfigError(
            f"{journal} ends in a cut record (a process was stopped while writing it): keep a copy, "
            f"then remove its last, incomplete line (sed -i '$ d' {journal}) and run again"
        )


def check_storage(storage: str | None) -> None:
    """A storage URL's password is masked from here on; one in the URL itself is refused."""
    if storage:
        remember_secrets_in(storage)  # masked wherever it shows up from here on
    if storage and has_password(storage):
        # Only a password typed on the command line is moved to PGPASSWORD (cli/train.py);
        # one from a config file would be written into every job's files.
        raise ConfigError(
            f"hydra.sweeper.storage={masked(storage)} holds a password: give the URL without it and put "
            "the password in ~/.pgpass or PGPASSWORD (see README, Sweeps)"
        )


class StudySearch:
    def __init__(self, sweeper: Any, settings: dict[str, Any]):
        self.sweeper = sweeper  # the Hydra Sweeper: its launcher and batch validation
        self.settings = settings

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
        self._note_pruner_blind_spot(space)
        returns = self._run_trials(study, space, fixed, storage_name, sweep_dir)
        print_best(study)
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
        self._requeue_stale(study, storage, storage.get_study_id_from_name(s["study_name"]), sweep_dir)
        print(
            f"study {s['study_name']!r} in {masked(storage_name)}: {counted_trials(study)} of {s['n_trials']} trials "
            "already there",
            flush=True,
        )
        return study

    def _note_pruner_blind_spot(self, space: dict[str, Any]) -> None:
        """A pruner that can never act within max_steps is named before the first trial,
        not left to prune nothing in silence. A searched max_steps or eval_interval is not judged."""
        if {"max_steps", "eval_interval"} & set(space):
            return
        note = pruning_blind_spot(
            self.settings["pruner"], self.config.get("max_steps"), self.config.get("eval_interval")
        )
        if note:
            print(f"wavenet-train: note: {note}", file=sys.stderr, flush=True)

    def _run_trials(
        self, study: optuna.Study, space: dict[str, Any], fixed: list[str], storage_name: str, sweep_dir: Path
    ) -> list[Sequence[JobReturn]]:
        """Keep up to n_jobs trials running until the study holds n_trials: the next trial is
        asked the moment a job ends, and each job is told to the study as soon as it ends.

        After a job that was interrupted, a launch that raised or a trial that does not
        compose, no new trial starts; the running ones are waited for and told, then the
        error (if any) is raised. Ctrl-C while waiting: see `_leave`.
        """
        slots = Slots(parallel_slots(self.launcher, int(self.settings["n_jobs"])))
        returns: list[Sequence[JobReturn]] = []
        stop: BaseException | str | None = None  # why no new trial starts
        try:
            while True:
                while stop is None and slots.free() and int(self.settings["n_trials"]) - counted_trials(study) > 0:
                    try:
                        trial, overrides = self._ask(study, space, fixed, storage_name)
                    except ConfigError as err:
                        stop = err
                        break
                    slots.start(trial.number, trial, self.launcher.launch, [overrides], trial.number)
                if not slots.running:
                    break
                trial, results, error = slots.next_done()
                if error is not None:
                    requeue(study, trial)  # the next run of the command asks it again
                    stop = stop if isinstance(stop, BaseException) else error
                    continue
                returns.append(results)
                if tell_outcome(study, trial, results[0], sweep_dir / str(trial.number)) == "interrupted":
                    stop = stop or "interrupted"
        except KeyboardInterrupt:
            self._leave(study, slots)
        if isinstance(stop, BaseException):
            raise stop
        if stop == "interrupted":  # Ctrl-C reached a job: the same command continues later
            print("interrupted: run the same command again to continue the study", flush=True)
        return returns

    def _ask(
        self, study: optuna.Study, space: dict[str, Any], fixed: list[str], storage_name: str
    ) -> tuple[optuna.trial.Trial, list[str]]:
        """The next trial and its job's overrides, checked to compose before it is launched.
        The job's folder is the trial's number (its job number too: see `launcher.launch`)."""
        trial = study.ask(space)
        trial.set_user_attr("worker", WORKER)
        overrides = [
            *fixed,
            *(f"{k}={override_value(v)}" for k, v in trial.params.items()),
            *trial_overrides(storage_name, self.settings["study_name"], trial.number),
            f"hydra.sweep.subdir={trial.number}",
        ]
        try:  # a search key the config does not have: the user's mistake, told in one line
            self.sweeper.validate_batch_is_legal([overrides])
        except Exception as err:
            requeue(study, trial, ask_again=False)  # the user's mistake, not the trial's: it must not count
            raise ConfigError(f"the trial overrides {overrides} do not compose: {one_line(err)}") from None
        return trial, overrides

    def _leave(self, study: optuna.Study, slots: Slots) -> NoReturn:
        """Ctrl-C while jobs run in other processes: their trials are asked again next time and
        the sweep ends now. Jobs in this terminal got the Ctrl-C too and save their checkpoints;
        SLURM's jobs run on, and the launcher names them (`left_running`)."""
        for trial in slots.running.values():
            requeue(study, trial)
        left = getattr(self.launcher, "left_running", None)
        said = left() if callable(left) else None
        exit_with_error(
            said
            or "interrupted: the running trials will be asked again; run the same command again to continue the study",
            code=130,
        )

    def _open_study(self, storage_name: str) -> tuple[Any, optuna.Study]:
        """Create or load the study; workers starting together on one new database may race
        to create its tables, so a failed first attempt is retried."""
        s = self.settings
        for attempt in range(3):
            try:
                storage = open_storage(storage_name)
                return storage, optuna.create_study(
                    storage=storage,
                    study_name=s["study_name"],
                    sampler=build_sampler(s["sampler"]),
                    pruner=build_pruner(s["pruner"]),
                    direction=s["direction"],
                    load_if_exists=True,
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
            if worker_host != host or not pid.isdigit() or alive(int(pid)):
                continue  # another live sweep's trial, or another machine's: not ours to judge
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
            storage.set_trial_user_attr(trial_id, "requeued", True)
            study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
            study.enqueue_trial(trial.params)
            if load_run(sweep_dir / str(trial.number)).status == "running":  # killed with its sweep: say so
                mark_ended(
                    sweep_dir / str(trial.number),
                    "interrupted",
                    "its sweep was stopped while it ran; its parameters are asked again",
                )
            print(f"trial {trial.number} was left running by a stopped sweep: marked failed, asked again", flush=True)

    _tell = staticmethod(tell_outcome)  # how one job's ending is told to the study (_trials.py)
