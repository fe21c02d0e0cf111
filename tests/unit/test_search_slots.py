"""The Optuna sweeper keeps n_jobs trials running: the next trial starts the moment any
running one ends, not when a whole batch has ended. Run here with a stand-in launcher whose
jobs sleep for as long as their trial's lr says, and an in-memory study."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from types import SimpleNamespace

import optuna
import pytest
from hydra.core.utils import JobReturn, JobStatus
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState

from hydra_plugins.wavenet_optuna_sweeper import _search
from hydra_plugins.wavenet_optuna_sweeper._search import StudySearch
from hydra_plugins.wavenet_optuna_sweeper._slots import Slots, parallel_slots
from wavenet_harness.sweeps.pruners import pruning_blind_spot

optuna.logging.set_verbosity(optuna.logging.WARNING)
LONG, SHORT, BROKEN = 0.5, 0.1, 0.2  # lr values; a job sleeps lr x 2 seconds (BROKEN: its launch raises)
SPACE = {"lr": CategoricalDistribution([LONG, SHORT, BROKEN])}


class SleepingLauncher:
    """launch() of one job: sleeps, writes the job's metrics.json as a finished run, returns its val."""

    def __init__(self, sweep_dir, interrupt_on=None):
        self.sweep_dir, self.interrupt_on = sweep_dir, interrupt_on
        self.running = self.most_at_once = 0
        self.threads: set[str] = set()
        self.lock = threading.Lock()

    def launch(self, job_overrides, initial_job_idx):
        (overrides,) = job_overrides  # one job per launch
        lr = float(next(o for o in overrides if o.startswith("lr=")).partition("=")[2])
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.threads.add(threading.current_thread().name)
        if lr == self.interrupt_on:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, which Python hands to the main thread
        time.sleep(lr * 2)
        with self.lock:
            self.running -= 1
        if lr == BROKEN:
            raise RuntimeError("the launcher broke")
        run_dir = self.sweep_dir / str(initial_job_idx)
        run_dir.mkdir()
        (run_dir / "metrics.json").write_text(json.dumps({"status": "ok", "val_loss": lr}))
        result = JobReturn()
        result.status, result.return_value = JobStatus.COMPLETED, lr
        return [result]


def _search_with(launcher, n_trials: int, n_jobs: int, monkeypatch, slots=None) -> StudySearch:
    monkeypatch.setattr(_search, "parallel_slots", lambda _, n: n if slots is None else slots)
    search = StudySearch(
        SimpleNamespace(validate_batch_is_legal=lambda batch: None),
        {"n_trials": n_trials, "n_jobs": n_jobs, "study_name": "slots"},
    )
    search.launcher = launcher
    return search


def _study(*lrs: float) -> optuna.Study:
    study = optuna.create_study(study_name="slots")
    for lr in lrs:
        study.enqueue_trial({"lr": lr})
    return study


def test_a_free_slot_takes_the_next_trial_while_a_long_one_runs(tmp_path, monkeypatch):
    launcher = SleepingLauncher(tmp_path)
    study = _study(LONG, SHORT, SHORT, SHORT)
    search = _search_with(launcher, n_trials=4, n_jobs=2, monkeypatch=monkeypatch)
    returns = search._run_trials(study, SPACE, ["max_steps=10"], "journal", tmp_path)
    trials = study.get_trials()
    assert len(returns) == 4 and [t.state for t in trials] == [TrialState.COMPLETE] * 4
    assert [t.value for t in trials] == [LONG, SHORT, SHORT, SHORT]
    # Trials 1, 2 and 3 ran one after another beside trial 0; a batch of two would have
    # held trial 2 back until trial 0 had ended.
    assert trials[3].datetime_start < trials[0].datetime_complete
    assert launcher.most_at_once == 2
    assert all(t.user_attrs["run_dir"] == str(tmp_path / str(t.number)) for t in trials)


def test_n_trials_counts_what_the_study_already_holds(tmp_path, monkeypatch):
    study = _study(SHORT, SHORT, SHORT)
    done = study.ask(SPACE)
    study.tell(done, 1.0)
    search = _search_with(SleepingLauncher(tmp_path), n_trials=3, n_jobs=2, monkeypatch=monkeypatch)
    assert len(search._run_trials(study, SPACE, [], "journal", tmp_path)) == 2
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 3


def test_a_launch_that_raises_stops_new_trials_and_is_raised_after_the_running_ones_end(tmp_path, monkeypatch):
    study = _study(LONG, BROKEN, SHORT, SHORT)
    search = _search_with(SleepingLauncher(tmp_path), n_trials=4, n_jobs=2, monkeypatch=monkeypatch)
    with pytest.raises(RuntimeError, match="the launcher broke"):
        search._run_trials(study, SPACE, [], "journal", tmp_path)
    trials = study.get_trials()
    # Trial 0 was waited for and told; trial 1 is asked again next time; nothing new started.
    assert trials[0].state == TrialState.COMPLETE
    assert trials[1].state == TrialState.FAIL and trials[1].user_attrs["requeued"]
    assert [t.state for t in trials[2:]] == [TrialState.WAITING] * 3  # two enqueued, and trial 1 again
    assert trials[-1].system_attrs["fixed_params"] == {"lr": BROKEN}


def test_one_slot_runs_the_job_in_the_main_thread(tmp_path, monkeypatch):
    # Hydra's basic launcher runs the job in this process, whose training installs signal handlers.
    launcher = SleepingLauncher(tmp_path)
    search = _search_with(launcher, n_trials=2, n_jobs=2, monkeypatch=monkeypatch, slots=1)
    search._run_trials(_study(SHORT, SHORT), SPACE, [], "journal", tmp_path)
    assert launcher.threads == {threading.main_thread().name} and launcher.most_at_once == 1


def test_ctrl_c_while_jobs_run_elsewhere_asks_them_again_and_says_what_runs_on(tmp_path, monkeypatch, capsys):
    launcher = SleepingLauncher(tmp_path, interrupt_on=SHORT)
    launcher.left_running = lambda: "the sweep's SLURM jobs keep running (scancel 7 stops them)"
    study = _study(LONG, SHORT, SHORT)
    search = _search_with(launcher, n_trials=3, n_jobs=2, monkeypatch=monkeypatch)
    with pytest.raises(SystemExit) as stopped:
        search._run_trials(study, SPACE, [], "journal", tmp_path)
    assert stopped.value.code == 130
    assert capsys.readouterr().err.strip() == (
        "wavenet-train: error: the sweep's SLURM jobs keep running (scancel 7 stops them)"
    )
    trials = study.get_trials()
    assert [(t.state, t.user_attrs.get("requeued")) for t in trials[:2]] == [(TrialState.FAIL, True)] * 2


def test_which_launchers_take_trials_side_by_side():
    from hydra._internal.core_plugins.basic_launcher import BasicLauncher
    from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher  # type: ignore[import-untyped]
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import LocalLauncher

    assert parallel_slots(BasicLauncher(), 4) == 1  # the job runs in the sweeper's process
    assert parallel_slots(JoblibLauncher(n_jobs=2), 4) == 2  # more would only wait in joblib's queue
    assert parallel_slots(JoblibLauncher(n_jobs=3), 2) == 2
    assert parallel_slots(JoblibLauncher(n_jobs=1), 4) == 1  # joblib would run it in the calling thread
    assert parallel_slots(LocalLauncher(submitit_folder="x"), 4) == 4


def test_slots_hand_back_errors_and_keep_order_of_ending():
    slots = Slots(2)
    slots.start(0, "slow", lambda: time.sleep(0.3) or "slow done")
    slots.start(1, "fails", lambda: 1 / 0)
    assert not slots.free()
    tag, result, error = slots.next_done()
    assert (tag, result, type(error)) == ("fails", None, ZeroDivisionError)
    assert slots.next_done() == ("slow", "slow done", None) and not slots.running


@pytest.mark.parametrize(
    "spec, max_steps, eval_interval, expected",
    [
        (
            {"name": "median", "n_warmup_steps": 4000},
            1500,
            500,
            "hydra.sweeper.pruner.n_warmup_steps=4000 is not below max_steps=1500: no trial can be pruned",
        ),
        (
            {"name": "hyperband", "min_resource": 1000, "max_resource": 2000},
            1000,
            100,
            "hydra.sweeper.pruner.min_resource=1000 is not below max_steps=1000: no trial can be pruned",
        ),
        (
            {"name": "successive_halving", "min_resource": 2000},
            1000,
            100,
            "min_resource=2000 is not below max_steps=1000",
        ),
        (
            {"name": "median", "n_warmup_steps": 500},
            1000,
            1000,  # the only evaluation is the last, never pruned
            "no evaluation (eval_interval=1000) falls at or after hydra.sweeper.pruner.n_warmup_steps=500 and before "
            "max_steps=1000: no trial can be pruned",
        ),
        ({"name": "median", "n_warmup_steps": 0}, 1500, 0, "no evaluation (eval_interval=0)"),
        ({"name": "median", "n_warmup_steps": 1000}, 1500, 500, None),  # judged at step 1000
        ({"name": "median", "n_warmup_steps": 0}, 1500, 500, None),
        ({"name": "successive_halving", "min_resource": "auto"}, 1500, 500, None),
        ({"name": "none"}, 10, 100, None),
    ],
)
def test_a_pruner_that_cannot_act_within_max_steps_is_named(spec, max_steps, eval_interval, expected):
    note = pruning_blind_spot(spec, max_steps, eval_interval)
    assert note == expected if expected is None or expected.startswith("hydra") else expected in note
