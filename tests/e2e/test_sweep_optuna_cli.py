"""The Optuna sweeper through the real `wavenet-train`: trial outcomes, resuming a study, shared storage."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState
from postgres_server import postgres_server

from helpers import REPO, TINY_OVERRIDES, read_metrics
from wavenet_harness.sweeps.study import open_storage


def test_bad_search_space_on_the_command_line_is_one_line(tmp_path, tiny_words_file, cli):
    result = cli(_tiny(tiny_words_file, tmp_path / "sweep", "+hydra.sweeper.params.lr={type:gaussian}"), cwd=REPO)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "wavenet-train: error: hydra.sweeper.params.lr.type='gaussian' is not allowed: choose float, int or categorical"
    )


def _tiny(words: Path, sweep_dir: Path, *extra: str, seed: str = "0") -> list[str]:
    return [
        "--multirun",
        "hydra/sweeper=wavenet_optuna",
        *TINY_OVERRIDES,
        f"data.path={words}",
        f"hydra.sweep.dir={sweep_dir}",
        "hydra.sweeper.sampler.name=random",
        f"hydra.sweeper.sampler.seed={seed}",
        *extra,
    ]


def _study(sweep_dir: Path, name: str = "wavenet") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=open_storage(str(sweep_dir / "optuna.journal")))


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_trials_end_ok_failed_pruned_diverged_and_a_rerun_resumes_the_study(tmp_path, tiny_words_file, cli):
    # One study, two runs of the same command (one CLI start-up less than two tests).
    # Run 1, random sampler seed 28: lr = 0.5, -1, 1e-6, 1e30, one after another. 0.5 trains
    # (ok); -1 is refused by the config checks (failed); 1e-6 barely moves from the initial
    # loss, so once the 0.5 trial has finished the median pruner stops it at its first
    # evaluation (pruned, step 20); 1e30 blows up (diverged). The sweep goes on through all.
    sweep_dir = tmp_path / "sweep"
    args = [
        "+hydra.sweeper.params.lr=[0.5,1e-6,1e30,-1.0]",
        "hydra.sweeper.pruner.name=median",
        "hydra.sweeper.pruner.n_startup_trials=1",
    ]
    first = cli(_tiny(tiny_words_file, sweep_dir, "hydra.sweeper.n_trials=4", *args, seed="28"), cwd=REPO)
    assert first.returncode == 0, first.stderr[-3000:]
    trials = _study(sweep_dir).trials
    ended = {t.params["lr"]: (t.state, read_metrics(sweep_dir / str(t.number))) for t in trials}
    assert {lr: (state, m["status"]) for lr, (state, m) in ended.items()} == {
        0.5: (TrialState.COMPLETE, "ok"),
        -1.0: (TrialState.FAIL, "failed"),
        1e-6: (TrialState.PRUNED, "pruned"),
        1e30: (TrialState.FAIL, "diverged"),
    }
    assert trials[0].value == pytest.approx(ended[0.5][1]["val_loss"])
    pruned = ended[1e-6][1]
    assert pruned["steps"] == 20 < pruned["max_steps"]
    assert [t.intermediate_values for t in trials if t.params["lr"] == 1e-6][0].keys() == {20}
    assert "sweep: 4 jobs: 1 ok, 1 failed, 1 diverged, 1 pruned" in first.stdout
    assert "Traceback" not in first.stderr
    finished_at = {n: read_metrics(sweep_dir / str(n))["finished_at"] for n in range(4)}

    # A sweep killed mid-trial leaves that trial RUNNING, owned by a process that is gone.
    study = _study(sweep_dir)
    study.enqueue_trial({"lr": 0.5})
    stale = study.ask({"lr": CategoricalDistribution([0.5, 1e-6, 1e30, -1.0])})
    stale.set_user_attr("worker", f"{socket.gethostname()}:{_dead_pid()}")
    (sweep_dir / "4").mkdir()
    (sweep_dir / "4" / "metrics.json").write_text(json.dumps({"status": "running", "steps": 0}))

    # Run 2, same command with n_trials=6, two at a time in joblib processes (which report
    # to the study through its storage): 0-3 are kept as they were, 4 (stale) is failed and
    # asked again as 5, and 6 is new (the fresh sampler's first draw, lr=0.5).
    parallel = ["hydra/launcher=parallel", "hydra.launcher.n_jobs=2", "hydra.sweeper.n_jobs=2"]
    second = cli(_tiny(tiny_words_file, sweep_dir, "hydra.sweeper.n_trials=6", *args, *parallel, seed="28"), cwd=REPO)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "4 of 6 trials already there" in second.stdout
    trials = _study(sweep_dir).trials
    assert [t.state for t in trials[4:]] == [TrialState.FAIL, TrialState.COMPLETE, TrialState.COMPLETE]
    assert trials[4].user_attrs["requeued"] and trials[5].params == trials[4].params == {"lr": 0.5}
    assert trials[5].intermediate_values.keys() == trials[6].intermediate_values.keys() == {20, 40, 60}
    assert {n: read_metrics(sweep_dir / str(n))["finished_at"] for n in range(4)} == finished_at
    assert read_metrics(sweep_dir / "4")["status"] == "interrupted"
    assert "sweep: 7 jobs: 3 ok, 1 failed, 1 diverged, 1 pruned, 1 interrupted" in second.stdout


@pytest.fixture
def postgres_url():
    """A throwaway PostgreSQL server on loopback, started and stopped by the test."""
    with postgres_server() as port:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"


def test_two_workers_share_one_study_through_postgresql(tmp_path, tiny_words_file, postgres_url):
    n_trials = 4
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    workers = []
    for name in ("a", "b"):
        args = _tiny(
            tiny_words_file,
            tmp_path / name,
            f"hydra.sweeper.n_trials={n_trials}",
            f"hydra.sweeper.storage={postgres_url}",
            "hydra.sweeper.study_name=shared",
            "+hydra.sweeper.params.lr={type:float,low:0.01,high:0.5}",
            "hydra.sweeper.pruner.name=none",
            seed="null",
        )
        workers.append(
            subprocess.Popen(
                ["wavenet-train", *args], cwd=REPO, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
        )
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], "\n".join(o[-2000:] for o in outputs)

    study = optuna.load_study(study_name="shared", storage=open_storage(postgres_url))
    numbers = [t.number for t in study.trials]
    ran = {name: sorted(int(p.parent.name) for p in (tmp_path / name).glob("*/metrics.json")) for name in "ab"}
    assert len(numbers) == len(set(numbers)), "a trial number was handed out twice"
    assert not set(ran["a"]) & set(ran["b"]), "both workers ran the same trial"
    assert sorted(ran["a"] + ran["b"]) == sorted(numbers), "a trial was lost"
    assert ran["a"] and ran["b"], f"one worker added nothing: {ran}"
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    assert n_trials <= len(numbers) <= n_trials + 1  # two workers may each ask the last one
    for name in "ab":
        for n in ran[name]:
            assert read_metrics(tmp_path / name / str(n))["val_loss"] == pytest.approx(study.trials[n].value)


def test_a_slot_freed_by_a_short_trial_takes_the_next_one_at_once(tmp_path, tiny_words_file, cli):
    # Two at a time in joblib processes. Random sampler seed 11: lr = 0.5, 1e30, 1e30, 1e30.
    # Trial 0 trains 8000 steps; the others blow up within a few steps (diverged). With
    # batches of two, trial 2 would wait for trial 0; here trials 1, 2 and 3 all run beside
    # it. The median pruner's warmup reaches max_steps: said before the first trial.
    sweep_dir = tmp_path / "sweep"
    args = [
        a for a in _tiny(tiny_words_file, sweep_dir, seed="11") if not a.startswith(("max_steps=", "eval_interval="))
    ]
    result = cli(
        [
            *args,
            "max_steps=8000",
            "eval_interval=2000",
            "hydra.sweeper.n_trials=4",
            "+hydra.sweeper.params.lr=[0.5,1e30]",
            "hydra/launcher=parallel",
            "hydra.launcher.n_jobs=2",
            "hydra.sweeper.n_jobs=2",
            "hydra.sweeper.pruner.name=median",
            "hydra.sweeper.pruner.n_warmup_steps=8000",
        ],
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    note = (
        "wavenet-train: note: hydra.sweeper.pruner.n_warmup_steps=8000 is not below max_steps=8000: "
        "no trial can be pruned"
    )
    lines = result.stderr.splitlines()
    first_job_ended = min(i for i, line in enumerate(lines) if line.startswith("wavenet-train: diverged"))
    assert note in lines[:first_job_ended]
    trials = _study(sweep_dir).trials
    assert [(t.params["lr"], read_metrics(sweep_dir / str(t.number))["status"]) for t in trials] == [
        (0.5, "ok"),
        (1e30, "diverged"),
        (1e30, "diverged"),
        (1e30, "diverged"),
    ]
    assert trials[3].datetime_start < trials[0].datetime_complete
    assert "sweep: 4 jobs: 1 ok, 0 failed, 3 diverged, 0 pruned" in result.stdout
