"""hydra/launcher=slurm on a real one-node SLURM cluster (the `slurm` fixture, tests/slurm_cluster.py).

Every job here goes through sbatch, slurmctld and slurmd, as on a university cluster:
  - a two-job sweep ends with the same summary as the same sweep on joblib;
  - a job preempted mid-run (SIGUSR2 to its steps, as SLURM sends it) is requeued by submitit
    with `scontrol requeue`, comes back with resume=true and ends bit for bit equal to an
    uninterrupted run; (slow) so does a job that SLURM itself signals before its time limit;
  - an Optuna search runs its trials as SLURM jobs two at a time (the next submitted as soon as
    one ends), sharing one study in a password-protected PostgreSQL: n_trials is respected, a
    trial is pruned against trials that ran in other jobs, and the password is in no file SLURM
    or submitit writes;
  - a job with a bad config, and a job killed mid-run, are one line each in the summary;
  - a job that cannot start is named while the sweep waits, and cancelling it ends the sweep;
  - Ctrl-C while the sweep waits says how to stop the jobs, which keep running (in a search:
    every trial's job, and its trial is asked again next time);
  - sbatch refusing the jobs, or a password the compute nodes could not read, is one line.
Tiny jobs, one thread each (the node has 2 CPUs).
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import threading
import time
from pathlib import Path

import optuna
import pytest
import torch
from optuna.trial import TrialState
from postgres_server import postgres_server

from helpers import REPO, TINY_OVERRIDES, assert_identical, assert_one_error_line, read_metrics
from wavenet_harness.sweeps.study import open_storage

# The launcher's settings for this node: a CPU and a GB per job; short limits so nothing hangs.
ON_SLURM = [
    "hydra/launcher=slurm",
    "hydra.launcher.cpus_per_task=1",
    "hydra.launcher.mem_gb=1",
    "hydra.launcher.timeout_min=10",
    "hydra.launcher.signal_delay_s=30",
]
TIMEOUT_S = 240  # a whole command; the jobs themselves take seconds


def _start(args: list[str], cluster, cwd: Path = REPO, **env: str) -> subprocess.Popen:
    environ = cluster.env(dict(os.environ, HYDRA_FULL_ERROR="0", PYTHONUNBUFFERED="1", **env))
    return subprocess.Popen(
        ["wavenet-train", *map(str, args)],
        cwd=cwd,
        env=environ,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _finish(process: subprocess.Popen, timeout: float = TIMEOUT_S) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"wavenet-train did not finish in {timeout} s:\n{out[-2000:]}\n{err[-2000:]}")
    return process.returncode, out, err


def _summary(stdout: str, sweep_dir: Path) -> list[str]:
    """The sweep summary (from its first line on), the sweep's folder written as SWEEP."""
    lines = stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("sweep: "))
    return [line.replace(str(sweep_dir), "SWEEP") for line in lines[first:]]


def _wait_until(check, what: str, timeout: float = 120, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def _progress(run_dir: Path) -> dict:
    """A running job's metrics.json, or {} before it has any (a run claims its folder with an empty one)."""
    try:
        return read_metrics(run_dir)
    except (OSError, ValueError):
        return {}


def _slurm_job_ids(sweep_dir: Path) -> list[str]:
    """The SLURM jobs submitit ran for a sweep: a folder each in .submitit/ with the job's log
    (J for a lone job, J_T for task T of array J; an array's own folder J holds no log)."""
    folders = (sweep_dir / ".submitit").iterdir()
    return sorted(p.name for p in folders if re.fullmatch(r"\d+(_\d+)?", p.name) and any(p.glob("*_log.out")))


def test_a_sweep_through_sbatch_ends_as_the_same_sweep_on_joblib(slurm, tmp_path, tiny_words_file):
    common = ["--multirun", *TINY_OVERRIDES, f"data.path={tiny_words_file}", "lr=0.1,0.2"]
    on_slurm = _start([*common, *ON_SLURM, f"hydra.sweep.dir={tmp_path / 'slurm'}"], slurm)
    on_joblib = _start(
        [*common, "hydra/launcher=parallel", "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={tmp_path / 'joblib'}"], slurm
    )
    rc_s, out_s, err_s = _finish(on_slurm)
    rc_j, out_j, err_j = _finish(on_joblib)
    assert (rc_s, rc_j) == (0, 0), err_s[-3000:] + err_j[-3000:]
    assert _summary(out_s, tmp_path / "slurm") == _summary(out_j, tmp_path / "joblib")
    assert "sweep: 2 jobs: 2 ok" in out_s
    for job in ("0", "1"):  # the very same numbers, job by job
        slurm_job, joblib_job = read_metrics(tmp_path / "slurm" / job), read_metrics(tmp_path / "joblib" / job)
        assert (slurm_job["train_loss"], slurm_job["val_loss"]) == (joblib_job["train_loss"], joblib_job["val_loss"])
    # It really went through SLURM: one array of two jobs, both completed on the node.
    ids = _slurm_job_ids(tmp_path / "slurm")
    assert len(ids) == 2 and ids[0].split("_")[0] == ids[1].split("_")[0], ids
    assert {slurm.jobs()[i]["state"] for i in ids} == {"COMPLETED"}
    assert "Traceback" not in err_s
    # Jobs are followed through squeue and their result files: no sacct, so no warnings
    # about the accounting this cluster (like many small ones) does not keep.
    assert "sacct" not in out_s + err_s


# slurmd refuses to launch a job whose credential was made in the same second as the kill
# that requeued it ("Job credential revoked"; the job then ends FAILED): SLURM's own hold of
# a requeued job (about two minutes) is what normally keeps this apart.
REVOKED_CREDENTIAL_S = 2.0


def _release_requeued(slurm, job_id: str) -> None:
    """Start a held requeued job now instead of in two minutes, once its old credential has aged."""
    time.sleep(REVOKED_CREDENTIAL_S)
    slurm.run("scontrol", "update", f"jobid={job_id}", "StartTime=now")


MAX_STEPS, CHECKPOINT_EVERY = 20000, 500
LONG_JOB = [
    f"max_steps={MAX_STEPS}",
    f"checkpoint_interval={CHECKPOINT_EVERY}",
    "eval_interval=5000",
    "seed=3",
    "batch_size=8",
    "n_embd=4",
    "n_hidden=8",
    "log.progress=false",
    "log.smooth_window=25",
    "threads=1",
]


def test_a_preempted_job_is_requeued_and_resumes_bit_for_bit(slurm, tmp_path, tiny_words_file):
    job = [*LONG_JOB, f"data.path={tiny_words_file}"]
    reference = _start([*job, f"hydra.run.dir={tmp_path / 'reference'}"], slurm)
    sweep_dir = tmp_path / "sweep"
    sweep = _start(["--multirun", *job, *ON_SLURM, f"hydra.sweep.dir={sweep_dir}"], slurm)

    # Preempt it once it has trained a while: SLURM signals the job's steps with SIGUSR2.
    run_dir = sweep_dir / "0"
    _wait_until(lambda: _progress(run_dir).get("steps", 0) > 0, "the job's first checkpoint")
    (job_id,) = _slurm_job_ids(sweep_dir)
    slurm.run("scancel", "--signal=USR2", job_id)
    # submitit saw the signal after the step, and requeued the job with `scontrol requeue`:
    # SLURM holds a requeued job (BeginTime) for about two minutes; a test has not got them.
    _wait_until(lambda: slurm.jobs().get(job_id, {}).get("reason") == "BeginTime", "the requeued job", 60)
    stopped = read_metrics(run_dir)
    assert stopped["status"] == "interrupted" and stopped["signal"] == "SIGUSR2", stopped
    _release_requeued(slurm, job_id)

    rc, out, err = _finish(sweep)
    assert rc == 0, err[-3000:] + "\n--- SLURM's logs ---\n" + slurm.log_text()[-6000:]
    assert _finish(reference)[0] == 0
    assert "sweep: 1 jobs: 1 ok" in out
    assert "Restarts=1" in slurm.run("scontrol", "show", "job", job_id)
    resumed, uninterrupted = read_metrics(run_dir), read_metrics(tmp_path / "reference")
    assert resumed["status"] == "ok" and resumed["resumed_from_step"] == stopped["steps"]
    assert 0 < stopped["steps"] < MAX_STEPS
    assert (resumed["train_loss"], resumed["val_loss"]) == (uninterrupted["train_loss"], uninterrupted["val_loss"])
    a = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "reference" / "checkpoint.pt", weights_only=True)
    for part in ("model", "optimizer", "rng"):
        assert_identical(a[part], b[part], part)


@pytest.mark.slow  # two time limits of a minute each, at least
def test_a_job_that_reaches_its_time_limit_is_signalled_by_slurm_and_resumes_bit_for_bit(
    slurm, tmp_path, tiny_words_file
):
    # A one-minute limit with SIGUSR2 50 s before it: slurmctld itself signals the job some
    # 10 to 40 s in (it checks time limits every half minute). The job saves and submitit
    # requeues it, as many times as it takes to finish; each requeue is released at once.
    job = [
        *LONG_JOB,
        "max_steps=60000",
        "checkpoint_interval=2000",
        "eval_interval=20000",
        f"data.path={tiny_words_file}",
    ]
    reference = _start([*job, f"hydra.run.dir={tmp_path / 'reference'}"], slurm)
    sweep_dir = tmp_path / "sweep"
    sweep = _start(
        [
            "--multirun",
            *job,
            *ON_SLURM,
            "hydra.launcher.timeout_min=1",
            "hydra.launcher.signal_delay_s=50",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        slurm,
    )
    released = 0
    deadline = time.monotonic() + 2 * TIMEOUT_S
    while sweep.poll() is None and time.monotonic() < deadline:
        ids = _slurm_job_ids(sweep_dir) if (sweep_dir / ".submitit").is_dir() else []
        if ids and slurm.jobs().get(ids[0], {}).get("reason") == "BeginTime":
            _release_requeued(slurm, ids[0])
            released += 1
        time.sleep(1)
    rc, out, err = _finish(sweep, timeout=10)
    assert rc == 0, err[-3000:]
    assert _finish(reference)[0] == 0
    assert released >= 1, "the job finished within its first minute: make it longer"
    assert f"Restarts={released}" in slurm.run("scontrol", "show", "job", ids[0])
    resumed, uninterrupted = read_metrics(sweep_dir / "0"), read_metrics(tmp_path / "reference")
    assert resumed["status"] == "ok" and resumed["resumed_from_step"] > 0
    assert (resumed["train_loss"], resumed["val_loss"]) == (uninterrupted["train_loss"], uninterrupted["val_loss"])
    a = torch.load(sweep_dir / "0" / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "reference" / "checkpoint.pt", weights_only=True)
    for part in ("model", "optimizer", "rng"):
        assert_identical(a[part], b[part], part)


def _files_holding(secret: str, *folders: Path) -> list[str]:
    found = []
    for folder in folders:
        for path in folder.rglob("*"):
            try:
                if path.is_file() and secret.encode() in path.read_bytes():
                    found.append(str(path))
            except OSError:  # a file SLURM removed meanwhile
                pass
    return found


@pytest.fixture
def postgres_with_password(tmp_path):
    """(url without the password, the password, a 0600 pgpass file holding it) of a throwaway server."""
    password = "pw-" + secrets.token_hex(8)
    with postgres_server(password=password) as port:
        pgpass = tmp_path / "pgpass"
        pgpass.write_text(f"127.0.0.1:{port}:postgres:postgres:{password}\n")
        pgpass.chmod(0o600)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", password, pgpass


def test_an_optuna_search_runs_its_trials_as_slurm_jobs_two_at_a_time_sharing_one_study(
    slurm, tmp_path, tiny_words_file, postgres_with_password
):
    url, password, pgpass = postgres_with_password
    # Random sampler, seed 6: lr 0.5, 0.5, 1e-6, 0.5. Trial 2 (lr 1e-6), asked once trial 0
    # or 1 has ended, barely learns: the median pruner stops it at its first evaluation
    # against the trials that ran and reported in other SLURM jobs.
    with_password = url.replace("postgres@", f"postgres:{password}@")  # typed on the command line
    sweep_dir = tmp_path / "search"
    search = _start(
        [
            "--multirun",
            "hydra/sweeper=wavenet_optuna",
            *TINY_OVERRIDES,
            *ON_SLURM,
            f"data.path={tiny_words_file}",
            f"hydra.sweep.dir={sweep_dir}",
            f"hydra.sweeper.storage={with_password}",
            "hydra.sweeper.study_name=on_slurm",
            "hydra.sweeper.n_trials=4",
            "hydra.sweeper.n_jobs=2",
            "hydra.launcher.array_parallelism=2",
            "hydra.sweeper.sampler.name=random",
            "hydra.sweeper.sampler.seed=6",
            "+hydra.sweeper.params.lr=[0.5,1e-6]",
            "hydra.sweeper.pruner.name=median",
            "hydra.sweeper.pruner.n_startup_trials=1",
        ],
        slurm,
        PGPASSFILE=str(pgpass),
    )
    # While the jobs run, SLURM's own files (job scripts, saved environments, logs) are
    # searched for the password, as well as everything submitit writes.
    leaks: list[str] = []
    deadline = time.monotonic() + TIMEOUT_S
    while search.poll() is None and time.monotonic() < deadline:
        leaks += _files_holding(password, slurm.home, sweep_dir)
        time.sleep(0.5)
    rc, out, err = _finish(search, timeout=10)
    assert rc == 0, err[-3000:]
    leaks += _files_holding(password, slurm.home, sweep_dir)
    assert not leaks, f"the password was written to {sorted(set(leaks))}"
    assert password not in out + err

    study = optuna.load_study(study_name="on_slurm", storage=open_storage(with_password))
    trials = study.trials
    assert len(trials) == 4  # n_trials, not a trial more
    assert [(t.params["lr"], t.state) for t in trials] == [
        (0.5, TrialState.COMPLETE),
        (0.5, TrialState.COMPLETE),
        (1e-6, TrialState.PRUNED),
        (0.5, TrialState.COMPLETE),
    ]
    assert trials[2].intermediate_values.keys() == {20}
    assert read_metrics(sweep_dir / "2")["status"] == "pruned"
    for t in (trials[0], trials[1], trials[3]):
        assert read_metrics(sweep_dir / str(t.number))["val_loss"] == pytest.approx(t.value)
    # One SLURM job per trial, each submitted as soon as a slot was free, never more than two at once.
    arrays = [job_id.split("_")[0] for job_id in _slurm_job_ids(sweep_dir)]
    assert sorted(arrays.count(a) for a in set(arrays)) == [1, 1, 1, 1], arrays
    spans = sorted((t.datetime_start, t.datetime_complete) for t in trials)
    assert all(sum(start <= t < end for start, end in spans) <= 2 for t, _ in spans)
    assert "sweep: 4 jobs: 3 ok, 0 failed, 0 diverged, 1 pruned" in out


def test_a_password_the_compute_nodes_cannot_read_is_refused_in_one_line(slurm, tmp_path, tiny_words_file):
    result = _finish(
        _start(
            [
                "--multirun",
                "hydra/sweeper=wavenet_optuna",
                *TINY_OVERRIDES,
                *ON_SLURM,
                f"data.path={tiny_words_file}",
                f"hydra.sweep.dir={tmp_path / 'search'}",
                "hydra.sweeper.storage=postgresql://me:secret@127.0.0.1:9/study",
                "+hydra.sweeper.params.lr=[0.1,0.2]",
            ],
            slurm,
            PGPASSFILE=str(tmp_path / "no-such-pgpass"),
        )
    )
    assert_one_error_line(*result[:1], result[2], "is not handed to SLURM")
    assert "secret" not in result[1] + result[2]


def _job_python_pids(cluster, job_id: str) -> list[int]:
    """The job's Python processes on the node (scontrol listpids: the node is this machine)."""
    pids = []
    own_id = cluster.run("squeue", "--noheader", f"--jobs={job_id}", "--format=%A").strip()  # J_T -> its own id
    for line in cluster.run("scontrol", "listpids", own_id).splitlines()[1:]:
        pid = int(line.split()[0])
        try:
            if b"submitit.core._submit" in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(pid)
        except OSError:
            pass
    assert pids, f"no Python process of job {job_id}"
    return pids


def test_a_failed_and_a_killed_job_are_one_line_each_not_a_hang(slurm, tmp_path, tiny_words_file):
    # Four jobs: lr=-1 is refused by the job's config checks (twice), lr=0.1 trains 60 steps,
    # and the 200000-step one is killed mid-run (SIGKILL to its step, as the kernel's
    # out-of-memory killer would): it never writes a result, and with no SLURM accounting
    # here, only squeue can tell that it is gone. (scancel, even --signal=KILL, sends SIGTERM
    # first: the job saves its checkpoint and is "interrupted", to be resumed.)
    sweep_dir = tmp_path / "sweep"
    sweep = _start(
        [
            "--multirun",
            *TINY_OVERRIDES,
            *ON_SLURM,
            f"data.path={tiny_words_file}",
            f"hydra.sweep.dir={sweep_dir}",
            "lr=-1,0.1",
            "max_steps=60,200000",
        ],
        slurm,
    )
    long_run = sweep_dir / "3"  # the last of the product (lr varies fastest): lr=0.1, max_steps=200000
    _wait_until(lambda: _progress(long_run).get("status") == "running", "the long job to start")
    assert {"- lr=0.1", "- max_steps=200000"} <= set((long_run / ".hydra" / "overrides.yaml").read_text().splitlines())
    (long_job,) = [i for i in _slurm_job_ids(sweep_dir) if i.endswith("_3")]
    for pid in _job_python_pids(slurm, long_job):
        os.kill(pid, signal.SIGKILL)
    rc, out, err = _finish(sweep, timeout=120)
    assert rc == 0, err[-3000:]
    summary = _summary(out, sweep_dir)
    assert summary[0] == "sweep: 4 jobs: 1 ok, 3 failed, 0 diverged, 0 pruned"
    failed = [line.split() for line in summary if line.lstrip().startswith("failed")]
    assert [words[1] for words in failed] == ["0:", "2:", "3:"], summary  # lr varies fastest
    assert all("lr=-1" in " ".join(words) for words in failed[:2]), summary
    assert f"SLURM job {long_job} ended" in " ".join(failed[2]) and "without a result" in " ".join(failed[2])
    assert read_metrics(long_run)["status"] == "failed"
    assert "Traceback" not in err


def test_jobs_sbatch_refuses_are_one_line(slurm, tmp_path, tiny_words_file):
    result = _finish(
        _start(
            [
                "--multirun",
                *TINY_OVERRIDES,
                *ON_SLURM,
                "hydra.launcher.mem_gb=64",
                f"data.path={tiny_words_file}",
                f"hydra.sweep.dir={tmp_path / 'sweep'}",
                "lr=0.1,0.2",
            ],
            slurm,
        )
    )
    assert_one_error_line(result[0], result[2], "sbatch refused the sweep's jobs")


def test_a_job_that_cannot_start_is_named_and_cancelling_it_ends_the_sweep(slurm, tmp_path, tiny_words_file):
    # 64 CPUs on a 2-CPU node: sbatch accepts it, SLURM keeps it pending (PartitionConfig).
    sweep_dir = tmp_path / "sweep"
    sweep = _start(
        [
            "--multirun",
            *TINY_OVERRIDES,
            *ON_SLURM,
            "hydra.launcher.cpus_per_task=64",
            f"data.path={tiny_words_file}",
            f"hydra.sweep.dir={sweep_dir}",
            "lr=0.1",
        ],
        slurm,
    )
    first_lines = []
    watchdog = threading.Timer(120, sweep.kill)  # reading its output must not hang the suite
    watchdog.start()
    try:
        for line in sweep.stdout:  # what the sweep prints while it waits
            first_lines.append(line)
            if "is pending with reason" in line:
                break
    finally:
        watchdog.cancel()
    assert "is pending with reason PartitionConfig" in first_lines[-1], first_lines
    job_id = first_lines[-1].split()[2]
    slurm.run("scancel", job_id)
    rc, out, err = _finish(sweep, timeout=120)
    assert rc == 1 and "every job of the sweep failed" in err
    summary = _summary(out, sweep_dir)
    assert summary[0] == "sweep: 1 jobs: 0 ok, 1 failed, 0 diverged, 0 pruned"
    (failed,) = [line for line in summary if line.lstrip().startswith("failed")]
    assert f"SLURM job {job_id} ended CANCELLED without a result" in failed
    assert "Traceback" not in err


def test_ctrl_c_while_waiting_says_how_to_stop_the_jobs_it_leaves_running(slurm, tmp_path, tiny_words_file):
    sweep_dir = tmp_path / "sweep"
    sweep = _start(
        [
            "--multirun",
            *TINY_OVERRIDES,
            *ON_SLURM,
            "max_steps=200000",
            f"data.path={tiny_words_file}",
            f"hydra.sweep.dir={sweep_dir}",
            "lr=0.1",
        ],
        slurm,
    )
    _wait_until(lambda: _progress(sweep_dir / "0").get("status") == "running", "the job to start")
    sweep.send_signal(signal.SIGINT)
    rc, out, err = _finish(sweep, timeout=60)
    (job_id,) = _slurm_job_ids(sweep_dir)
    assert rc == 130
    assert err.strip().splitlines()[-1] == (
        "wavenet-train: error: interrupted while waiting; the sweep's SLURM jobs "
        f"keep running (scancel {job_id} stops them, each saving its checkpoint)"
    )
    assert "Traceback" not in err
    assert slurm.jobs()[job_id]["state"] == "RUNNING"
    slurm.run("scancel", job_id)
    _wait_until(lambda: read_metrics(sweep_dir / "0")["status"] == "interrupted", "the job to save and stop", 60)


def test_ctrl_c_in_a_search_names_every_slurm_job_it_was_waiting_for(slurm, tmp_path, tiny_words_file):
    # Two trials at once, each its own SLURM job waited for in a thread of the sweeper; Ctrl-C
    # reaches the main thread, which names both jobs, and both trials are asked again next time
    # (the study is a journal file here; the search above shares a PostgreSQL one).
    sweep_dir = tmp_path / "search"
    search = _start(
        [
            "--multirun",
            "hydra/sweeper=wavenet_optuna",
            *TINY_OVERRIDES,
            *ON_SLURM,
            "max_steps=200000",
            "eval_interval=100000",
            f"data.path={tiny_words_file}",
            f"hydra.sweep.dir={sweep_dir}",
            "hydra.sweeper.n_trials=4",
            "hydra.sweeper.n_jobs=2",
            "+hydra.sweeper.params.lr=[0.1,0.2]",
            "hydra.sweeper.pruner.name=none",
        ],
        slurm,
    )
    _wait_until(lambda: all(_progress(sweep_dir / n).get("status") == "running" for n in "01"), "both trials to start")
    search.send_signal(signal.SIGINT)
    rc, out, err = _finish(search, timeout=60)
    arrays = sorted({job_id.split("_")[0] for job_id in _slurm_job_ids(sweep_dir)}, key=int)
    assert rc == 130 and len(arrays) == 2, err[-3000:]
    assert err.strip().splitlines()[-1] == (
        "wavenet-train: error: interrupted while waiting; the sweep's SLURM jobs "
        f"keep running (scancel {' '.join(arrays)} stops them, each saving its "
        "checkpoint)"
    )
    assert "Traceback" not in err
    study = optuna.load_study(study_name="wavenet", storage=open_storage(str(sweep_dir / "optuna.journal")))
    assert [(t.state, t.user_attrs.get("requeued")) for t in study.trials[:2]] == [(TrialState.FAIL, True)] * 2
    slurm.run("scancel", *arrays)


def test_sbatch_without_a_cluster_to_talk_to_is_one_line(slurm, tmp_path, tiny_words_file):
    # SLURM's client programs installed, but no slurm.conf and no controller to be found:
    # as on a laptop with slurm-client, or a login node's shell that lost its SLURM_CONF.
    env = {k: v for k, v in os.environ.items() if k != "SLURM_CONF"}
    env.update(HYDRA_FULL_ERROR="0")
    if Path("/etc/slurm/slurm.conf").exists():
        pytest.skip("this machine has a SLURM configuration of its own for sbatch to find")
    done = subprocess.run(
        [
            "wavenet-train",
            "--multirun",
            *TINY_OVERRIDES,
            *ON_SLURM,
            f"data.path={tiny_words_file}",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
            "lr=0.1",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert_one_error_line(done.returncode, done.stderr, "sbatch refused the sweep's jobs")
    assert "configuration" in done.stderr
