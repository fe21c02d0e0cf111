"""wavenet_harness/sweeps/slurm_jobs.py on made-up jobs and queues: when a job counts as ended,
and what sbatch's environment holds. The real cluster is in tests/e2e/test_slurm_cluster.py."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from wavenet_harness.sweeps import slurm_jobs


class Clock:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _job(tmp_path: Path, job_id: str) -> SimpleNamespace:
    folder = tmp_path / job_id
    folder.mkdir()
    paths = SimpleNamespace(result_pickle=folder / "result.pkl", stderr=folder / "log.err")
    return SimpleNamespace(job_id=job_id, paths=paths)


def test_a_job_with_a_result_is_done_and_one_that_left_the_queue_without_one_fails(tmp_path):
    done, killed, requeued = _job(tmp_path, "7_0"), _job(tmp_path, "7_1"), _job(tmp_path, "7_2")
    done.paths.result_pickle.write_bytes(b"result")
    clock, asked = Clock(), []

    def queue(ids):
        asked.append(sorted(ids))
        if clock.now > 100:  # the requeued job finally ends with its result
            requeued.paths.result_pickle.write_bytes(b"result")
        return {"7_1": ("OUT_OF_MEMORY", "None"), "7_2": ("PENDING", "BeginTime")}

    said = []
    outcome = slurm_jobs.wait_for_jobs(
        [done, killed, requeued], states=queue, clock=clock, sleep=clock.sleep, say=said.append
    )
    assert outcome[0] is done and outcome[2] is requeued
    assert isinstance(outcome[1], slurm_jobs.EndedWithoutResult)
    assert str(outcome[1]).startswith("SLURM job 7_1 ended OUT_OF_MEMORY without a result; its log: ")
    assert asked[0] == ["7_1", "7_2"]  # a job with its result is not asked about
    assert clock.now >= slurm_jobs.RESULT_GRACE_S  # its result was waited for a while first
    assert said == []  # a requeued job waiting for its BeginTime is nothing to worry about


def test_a_job_that_may_never_start_is_named_once(tmp_path):
    stuck = _job(tmp_path, "9_0")
    clock, said = Clock(), []

    def queue(ids):
        if clock.now > 60:  # the user cancelled it
            return {"9_0": ("CANCELLED", "None")}
        return {"9_0": ("PENDING", "PartitionConfig")}

    outcome = slurm_jobs.wait_for_jobs([stuck], states=queue, clock=clock, sleep=clock.sleep, say=said.append)
    assert len(said) == 1 and said[0].startswith("SLURM job 9_0 is pending with reason PartitionConfig")
    assert "ended CANCELLED without a result" in str(outcome[0])


def test_a_job_gone_from_the_queue_fails_but_a_silent_squeue_is_waited_out(tmp_path):
    gone = _job(tmp_path, "8")
    clock = Clock()
    answers = iter([None, None, {}, {}, {}, {}, {}])  # squeue unreachable twice, then the job is gone
    outcome = slurm_jobs.wait_for_jobs([gone], states=lambda ids: next(answers), clock=clock, sleep=clock.sleep)
    assert "ended and left the queue without a result" in str(outcome[0])
    assert clock.now >= 2 * slurm_jobs.SQUEUE_EVERY_S + slurm_jobs.RESULT_GRACE_S


def test_sbatch_never_sees_the_database_password_and_the_sweep_gets_it_back():
    env = {"PGPASSWORD": "s3cret", "PGPASSFILE": "/home/me/.pgpass", "PATH": "/bin"}
    with slurm_jobs.password_kept_from_sbatch(env):
        assert env == {"PGPASSFILE": "/home/me/.pgpass", "PATH": "/bin"}
    assert env["PGPASSWORD"] == "s3cret"


def test_a_password_only_in_pgpassword_is_refused_unless_a_passfile_exists(tmp_path):
    url = "postgresql://me@db:5432/study"
    missing = {"PGPASSWORD": "s3cret", "PGPASSFILE": str(tmp_path / "none")}
    message = slurm_jobs.check_password_reachable(url, missing)
    assert "s3cret" not in message and str(tmp_path / "none") in message and "not handed to SLURM" in message
    (tmp_path / "pgpass").write_text("db:5432:study:me:s3cret\n")
    assert (
        slurm_jobs.check_password_reachable(url, {"PGPASSWORD": "s3cret", "PGPASSFILE": str(tmp_path / "pgpass")})
        is None
    )
    assert slurm_jobs.check_password_reachable(url, {}) is None  # no password at all: libpq's own business
    assert slurm_jobs.check_password_reachable(None, missing) is None  # a journal file next to the sweep
