"""Sweeps that finish: threads per job, failures as results, the summary, launcher presets.

Unit tests on made-up job directories, then real `wavenet-train --multirun` sweeps on tiny
data: joblib in parallel with a failing and a diverging job, a sweep where every job fails,
the SLURM preset's composition and submitit's local executor.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from conftest import REPO, TINY_OVERRIDES, read_metrics, run_cli

from wavenet_harness.sweeps import launch as sweep

JOBLIB = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"


@pytest.mark.parametrize(
    "threads, n_jobs, cores, expected",
    [
        (0, -1, 8, 1),  # one job per core: one thread each
        (0, 2, 8, 4),  # two jobs on eight cores: four threads each
        (0, 3, 8, 2),
        (0, 16, 2, 1),  # more jobs than cores: never below one thread
        (0, -2, 8, 1),  # joblib's "all cores but one": 7 jobs
        (3, 2, 8, 3),  # an explicit choice is kept
    ],
)
def test_joblib_jobs_share_the_cores(threads, n_jobs, cores, expected):
    assert sweep.job_threads(threads, {"_target_": JOBLIB, "n_jobs": n_jobs}, cores=cores) == expected


def test_threads_outside_joblib():
    assert sweep.job_threads(0, None, cores=8) == 0  # a single run: torch's default
    assert sweep.job_threads(0, {"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}, 8) == 0
    submitit = {"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher", "cpus_per_task": 4}
    assert sweep.job_threads(0, submitit, cores=64) == 4


def _job(sweep_dir: Path, name: str, metrics: dict | None, overrides: list[str]) -> None:
    run_dir = sweep_dir / name
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if metrics is not None:
        (run_dir / "metrics.json").write_text(json.dumps(metrics))


def test_summary_counts_and_best_job(tmp_path):
    _job(tmp_path, "0", {"status": "ok", "val_loss": 2.5}, ["max_steps=9", "lr=0.1"])
    _job(tmp_path, "1", {"status": "ok", "val_loss": 2.2}, ["max_steps=9", "lr=0.2"])
    _job(tmp_path, "2", {"status": "diverged", "val_loss": None, "error": "loss became NaN"}, ["max_steps=9", "lr=1e30"])
    _job(tmp_path, "3", {"status": "pruned", "val_loss": None}, ["max_steps=9", "lr=1e-6"])
    _job(tmp_path, "10", None, ["max_steps=9", "lr=5"])  # killed before it wrote anything
    (tmp_path / "not_a_job").mkdir()
    jobs = sweep.collect_jobs(tmp_path)
    assert [job.run_dir.name for job in jobs] == ["0", "1", "2", "3", "10"]
    text = sweep.format_summary(jobs, tmp_path)
    assert "5 jobs: 2 ok, 0 failed, 1 diverged, 1 pruned, 1 missing" in text
    assert f"best val loss: 2.2000  {tmp_path / '1'}  lr=0.2" in text  # shared overrides left out
    assert "diverged  2: loss became NaN" in text
    assert not sweep.every_job_failed(jobs)


def test_every_job_failed_only_when_nothing_ran_to_a_result(tmp_path):
    _job(tmp_path, "0", {"status": "failed", "error": "lr=-1 is not allowed"}, ["lr=-1"])
    _job(tmp_path, "1", None, ["lr=-2"])
    assert sweep.every_job_failed(sweep.collect_jobs(tmp_path))
    _job(tmp_path, "2", {"status": "diverged"}, ["lr=1e30"])
    assert not sweep.every_job_failed(sweep.collect_jobs(tmp_path))
    assert not sweep.every_job_failed([])


def test_record_failure_keeps_what_the_run_wrote(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"status": "running", "params": 785, "steps": 40}))
    try:
        raise RuntimeError("disk full")
    except RuntimeError as err:
        sweep.record_failure(tmp_path, err, user_error=False)
    metrics = read_metrics(tmp_path)
    assert (metrics["status"], metrics["params"], metrics["error"]) == ("failed", 785, "RuntimeError: disk full")
    assert "disk full" in (tmp_path / sweep.TRACEBACK_NAME).read_text()


def _statuses(sweep_dir: Path) -> dict[float, dict]:
    """lr of each job (as a number: Hydra writes 1e30 as 1e+30) -> its metrics."""
    found = {}
    for metrics_file in sweep_dir.glob("*/metrics.json"):
        overrides = (metrics_file.parent / ".hydra" / "overrides.yaml").read_text()
        lr = next(line.split("=", 1)[1] for line in overrides.splitlines() if line.startswith("- lr="))
        found[float(lr)] = json.loads(metrics_file.read_text())
    return found


def test_parallel_sweep_records_failed_and_diverged_jobs_and_goes_on(tmp_path, tiny_words_file):
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        ["--multirun", "hydra/launcher=parallel", "hydra.launcher.n_jobs=2", *TINY_OVERRIDES, "threads=0",
         f"data.path={tiny_words_file}", f"hydra.sweep.dir={sweep_dir}", "lr=0.1,1e30,-1"],
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = _statuses(sweep_dir)
    assert jobs[0.1]["status"] == "ok" and jobs[0.1]["val_loss"] < 3.5
    assert jobs[1e30]["status"] == "diverged" and "NaN or infinite" in jobs[1e30]["error"]
    assert jobs[-1.0]["status"] == "failed" and "lr=-1" in jobs[-1.0]["error"]
    assert "sweep: 3 jobs: 1 ok, 1 failed, 1 diverged, 0 pruned" in result.stdout
    assert "Traceback" not in result.stderr


def test_sweep_exits_non_zero_only_when_every_job_failed(tmp_path, tiny_words_file):
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        ["--multirun", *TINY_OVERRIDES, f"data.path={tiny_words_file}", f"hydra.sweep.dir={sweep_dir}",
         "lr=-1,-2"],
        cwd=REPO,
    )
    assert result.returncode == 1
    assert {m["status"] for m in _statuses(sweep_dir).values()} == {"failed"}
    assert "sweep: 2 jobs: 0 ok, 2 failed" in result.stdout
    assert "every job of the sweep failed" in result.stderr
    assert "Traceback" not in result.stderr


def test_launcher_presets_and_search_space_compose():
    from wavenet_harness.cli.train import compose_config

    slurm = compose_config(["hydra/launcher=slurm", "hparams_search=hier_optuna"], hydra_config=True)
    parallel = compose_config(["hydra/launcher=parallel"], hydra_config=True)
    assert slurm.hydra.launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert slurm.hydra.launcher.cpus_per_task == 4
    assert slurm.hydra.sweeper._target_.endswith("WavenetOptunaSweeper")
    assert {"n_embd", "n_hidden", "block_size", "depth", "lr", "batch_size", "optim", "schedule"} <= set(
        slurm.hydra.sweeper.params
    )
    assert slurm.max_steps == 20000 and slurm.hydra.sweeper.pruner.name == "median"
    assert parallel.hydra.launcher._target_ == JOBLIB and parallel.hydra.launcher.n_jobs == -1


@pytest.mark.slow  # submitit starts a fresh Python per job: well over 20 s on a busy 2-core machine
def test_submitit_local_sweep(tmp_path, tiny_words_file):
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        ["--multirun", "hydra/launcher=submitit_local", *TINY_OVERRIDES, f"data.path={tiny_words_file}",
         f"hydra.sweep.dir={sweep_dir}", "lr=0.1,0.2"],
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert {lr: m["status"] for lr, m in _statuses(sweep_dir).items()} == {0.1: "ok", 0.2: "ok"}
    assert (sweep_dir / ".submitit").is_dir()
    assert "sweep: 2 jobs: 2 ok" in result.stdout


def test_conv_search_space_corners_are_valid_runs():
    # The search behind experiment=tuned: extremes of its space must pass the config
    # checks and build, so no trial of a rerun fails for a reason the space could avoid.
    import itertools

    from hydra_plugins.wavenet_optuna_sweeper._search import build_distributions
    from optuna.distributions import CategoricalDistribution
    from wavenet_harness.cli.train import compose_config
    from wavenet_harness.config import validate
    from wavenet_harness.training.job import build_model_from_config

    search = compose_config(["hparams_search=conv_optuna"], hydra_config=True)
    assert search.hydra.launcher._target_ == JOBLIB and search.model.name == "conv" and search.threads == 1
    space = build_distributions(OmegaConf.to_container(search.hydra.sweeper.params))
    assert {"model.dropout", "model.residual", "optim.weight_decay", "n_hidden", "lr"} <= set(space)
    corners = {k: (d.choices if isinstance(d, CategoricalDistribution) else (d.low, d.high)) for k, d in space.items()}
    for n, values in enumerate(itertools.product(*corners.values())):
        if n % 7:  # a spread-out seventh of the 2**7 * 2 corners keeps this fast
            continue
        overrides = [f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in zip(corners, values)]
        cfg = compose_config(["hparams_search=conv_optuna", *overrides])
        validate(cfg)
        build_model_from_config(cfg, vocab_size=27)
