"""hydra/launcher=slurm: a preempted or timed-out job is requeued and continues bit for bit.

Without a cluster, the test plays SLURM's part: it installs submitit's own signal handler
(submitit.core.job_environment.SignalHandler, as a submitit job process does) with an
environment whose `_requeue` only records the call, starts a tiny training job, and
sends the job SIGUSR2 mid-run, as SLURM does before a time limit or on preemption.
The job must finish its step, write its checkpoint and metrics, then let submitit
requeue it as `resume=true`; running what submitit stored must continue to the very
weights of an uninterrupted run. This pins the signal's timing step by step; the same
path through sbatch, slurmd's signal and `scontrol requeue` on a real one-node cluster is
tests/e2e/test_slurm_cluster.py.
"""

from __future__ import annotations

import os
import signal

import pytest
import torch
from submitit.core.job_environment import SignalHandler
from submitit.core.utils import DelayedSubmission, JobPaths

from helpers import TINY_OVERRIDES, assert_identical, read_metrics
from hydra_plugins.wavenet_slurm_launcher._launcher import RequeueingSlurmLauncher, resumed_overrides
from wavenet_harness.adapter.config import compose_config
from wavenet_harness.adapter.job import run_training

STOP_AT = 37


class FakeSlurm:
    """What submitit's SlurmJobEnvironment offers the signal handler, minus scontrol."""

    global_rank = 0

    def __init__(self) -> None:
        self.requeued: list[int] = []

    def _requeue(self, countdown: int) -> None:
        self.requeued.append(countdown)


class SendAt:
    """A listener that signals its own process at one step (SLURM, playing along)."""

    def __init__(self, step: int, signum: int):
        self.step, self.signum = step, signum

    def on_train_loss(self, step: int, loss: float, lr: float) -> None:
        if step == self.step:
            os.kill(os.getpid(), self.signum)

    def on_metrics(self, step: int, metrics) -> None:
        pass


def test_requeued_overrides_resume_the_job():
    assert resumed_overrides(["seed=1", "resume=false", "lr=0.1"]) == ["seed=1", "lr=0.1", "resume=true"]
    assert resumed_overrides(["+resume=x"]) == ["resume=true"]


def test_a_job_slurm_requeued_by_itself_resumes(monkeypatch):
    """SLURM's own requeue (PreemptMode=REQUEUE) reruns the first submission: resume=true is added."""
    seen = []
    # The class it inherits from (Hydra's plugin scan may have loaded that module twice).
    monkeypatch.setattr(
        RequeueingSlurmLauncher.__bases__[0], "__call__", lambda self, overrides, *rest: seen.append(overrides)
    )
    launcher = RequeueingSlurmLauncher(submitit_folder="unused")
    monkeypatch.setenv("SLURM_RESTART_COUNT", "0")
    launcher(["seed=1"], "hydra.sweep.dir", 0, "1_0", {})
    monkeypatch.setenv("SLURM_RESTART_COUNT", "1")
    launcher(["seed=1"], "hydra.sweep.dir", 0, "1_0", {})
    assert seen == [["seed=1"], ["seed=1", "resume=true"]]


@pytest.fixture
def submitit_job(tmp_path):
    """submitit's SIGUSR2 handler for a job of the launcher; restored afterwards."""
    launcher = RequeueingSlurmLauncher(submitit_folder=str(tmp_path / ".submitit"))
    delayed = DelayedSubmission(launcher, ["seed=3", "resume=false"], "hydra.sweep.dir", 0, "1_0", {})
    delayed.set_timeout(60, 2)
    env, paths = FakeSlurm(), JobPaths(tmp_path / ".submitit", job_id="1")
    paths.folder.mkdir(parents=True)
    handler = SignalHandler(env, paths, delayed)
    exits: list[str] = []
    handler._exit = lambda: exits.append("exit")  # submitit's sys.exit(-1), recorded
    previous = signal.signal(signal.SIGUSR2, handler.checkpoint_and_try_requeue)
    try:
        yield env, paths, exits
    finally:
        signal.signal(signal.SIGUSR2, previous)


def test_sigusr2_checkpoints_the_step_then_submitit_requeues_it_with_resume(tmp_path, tiny_words_file, submitit_job):
    env, paths, exits = submitit_job
    cfg = compose_config([*TINY_OVERRIDES, "max_steps=120", "seed=3", f"data.path={tiny_words_file}"])
    reference = run_training(dict(cfg), tmp_path / "reference")
    assert reference["status"] == "ok"

    run_dir = tmp_path / "job"
    stopped = run_training(dict(cfg), run_dir, listeners=[SendAt(STOP_AT, signal.SIGUSR2)])
    assert stopped["status"] == "interrupted" and stopped["signal"] == "SIGUSR2"
    assert stopped["steps"] == STOP_AT + 1  # the step under way was finished
    assert torch.load(run_dir / "checkpoint.pt", weights_only=True)["step"] == STOP_AT + 1
    assert read_metrics(run_dir)["status"] == "interrupted"
    assert env.requeued == [2] and exits == ["exit"]  # preempted (not timed out): requeued, then exit

    requeued = DelayedSubmission.load(paths.submitted_pickle)
    assert requeued.args[0] == ["seed=3", "resume=true"]  # what the job runs when SLURM starts it again
    resumed = run_training(dict(cfg, resume=True), run_dir)
    assert resumed["status"] == "ok" and resumed["resumed_from_step"] == STOP_AT + 1
    assert (resumed["train_loss"], resumed["val_loss"]) == (reference["train_loss"], reference["val_loss"])
    a = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "reference" / "checkpoint.pt", weights_only=True)
    for part in ("model", "optimizer", "rng"):
        assert_identical(a[part], b[part], part)


def test_without_submitit_a_stop_signal_only_stops_the_run(tmp_path, tiny_words_file):
    cfg = compose_config([*TINY_OVERRIDES, "max_steps=120", f"data.path={tiny_words_file}"])
    stopped = run_training(cfg, tmp_path / "run", listeners=[SendAt(10, signal.SIGTERM)])
    assert stopped["status"] == "interrupted" and stopped["steps"] == 11 and stopped["signal"] == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handed back as it was


def test_slurm_launcher_config_points_at_the_requeueing_launcher():
    cfg = compose_config(["hydra/launcher=slurm"], hydra_config=True)
    assert cfg.hydra.launcher._target_ == "hydra_plugins.wavenet_slurm_launcher._launcher.RequeueingSlurmLauncher"
    assert cfg.hydra.launcher.max_num_timeout > 0 and cfg.hydra.launcher.signal_delay_s > 0
