"""The package as a user installs it, in clean virtual environments (no test-suite packages).

(a) `pip install .` with no extras, used from another folder: a short run, a 2-job multirun,
    a 2-trial Optuna search on a journal file, sample, eval, report and study on what they
    made, and one line (exit 2) for a feature whose extra is missing.
(b) a built wheel with [all], from another folder: a shortened experiment=tuned_gru.

Nothing is faked: the extras really are absent in (a). Pip's cache and the torch wheel on
local disk keep each environment to about half a minute.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from helpers import REPO, write_tiny_words

pytestmark = pytest.mark.install

# The CPU build this machine installs from disk; the project itself asks only for a range.
TORCH = os.environ.get("WAVENET_TEST_TORCH", "torch==2.13.0")
SHORT = [
    "max_steps=20",
    "eval_interval=10",
    "checkpoint_interval=0",
    "batch_size=8",
    "n_embd=4",
    "n_hidden=8",
    "threads=1",
    "log.progress=false",
    "data.path=words.txt",
]


def _copy_source(dest: Path) -> Path:
    """The checkout without outputs, so a build writes nothing into the repository."""
    skip = shutil.ignore_patterns(
        ".git",
        ".venv",
        "runs",
        "data",
        "build",
        "dist",
        "*.egg-info",
        "__pycache__",
        "multirun",
        "outputs",
        "site",
        ".pytest_cache",
    )
    shutil.copytree(REPO, dest, ignore=skip)
    return dest


def _make_env(folder: Path, *requirements: str) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    python = folder / "bin" / "python"
    _pip(python, "install", "-q", TORCH)
    _pip(python, "install", "-q", *requirements)
    return folder / "bin"


def _pip(python: Path, *args: str) -> None:
    done = subprocess.run([str(python), "-m", "pip", *args], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def _run(bin_dir: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return _copy_source(tmp_path_factory.mktemp("src") / "wavenet-harness")


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A folder that is not the checkout, holding a tiny words file."""
    write_tiny_words(tmp_path)
    return tmp_path


def test_core_install_without_extras_trains_sweeps_and_searches(tmp_path_factory, source, elsewhere):
    bin_dir = _make_env(tmp_path_factory.mktemp("core-env"), str(source))
    listed = _run(bin_dir, ["python", "-m", "pip", "list", "--format=freeze"], elsewhere).stdout.lower()
    for extra_package in ("submitit", "psycopg", "optuna-dashboard", "matplotlib", "pytest"):
        assert extra_package not in listed  # truly a bare install

    assert _run(bin_dir, ["wavenet-train", "--help"], elsewhere).returncode == 0
    one = _run(bin_dir, ["wavenet-train", *SHORT, "hydra.run.dir=runs/one"], elsewhere)
    assert one.returncode == 0, one.stderr
    grid = _run(bin_dir, ["wavenet-train", "--multirun", "lr=0.05,0.1", *SHORT, "hydra.sweep.dir=runs/grid"], elsewhere)
    assert grid.returncode == 0, grid.stderr
    assert "2 jobs: 2 ok" in grid.stdout + grid.stderr
    search = _run(
        bin_dir,
        [
            "wavenet-train",
            "--multirun",
            "hparams_search=hier_optuna",
            "hydra.sweeper.n_trials=2",
            *SHORT,
            "hydra.sweep.dir=runs/search",
        ],
        elsewhere,
    )
    assert search.returncode == 0, search.stderr
    assert (elsewhere / "runs/search/optuna.journal").is_file()
    assert "2 jobs" in search.stdout + search.stderr

    for tool in (
        ["wavenet-sample", "runs/one", "--num", "3"],
        ["wavenet-eval", "runs/one"],
        ["wavenet-report", "runs/grid"],
        ["wavenet-study", "runs/search"],
    ):
        done = _run(bin_dir, tool, elsewhere)
        assert done.returncode == 0, f"{tool}: {done.stderr}"

    slurm = _run(bin_dir, ["wavenet-train", "--multirun", "hydra/launcher=slurm", *SHORT], elsewhere)
    assert slurm.returncode == 2
    assert slurm.stderr.strip().splitlines() == [
        "wavenet-train: error: hydra/launcher: the SLURM and submitit launchers need hydra-submitit-launcher, "
        'which is not installed; install it with: pip install "wavenet-harness[slurm]"'
    ]
    for feature, extra in (
        (["hydra/launcher=submitit_local"], "slurm"),
        (["hparams_search=hier_optuna", "hydra.sweeper.storage=postgresql://me@localhost/study"], "postgres"),
    ):
        done = _run(bin_dir, ["wavenet-train", "--multirun", *feature, *SHORT], elsewhere)
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert f'pip install "wavenet-harness[{extra}]"' in done.stderr
    plots = _run(
        bin_dir,
        [
            "python",
            str(REPO / "scripts" / "plot_val_vs_time.py"),
            "--run",
            "grid=runs/grid/0",
            "--out",
            str(elsewhere / "curves.png"),
        ],
        elsewhere,
    )
    assert plots.returncode == 2 and len(plots.stderr.strip().splitlines()) == 1
    assert 'pip install "wavenet-harness[plots]"' in plots.stderr


def test_wheel_with_every_extra_runs_a_tuned_preset(tmp_path_factory, source, elsewhere):
    wheels = tmp_path_factory.mktemp("wheels")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("wavenet_harness-*.whl")
    bin_dir = _make_env(tmp_path_factory.mktemp("all-env"), f"{wheel}[all]")
    run = _run(
        bin_dir,
        [
            "wavenet-train",
            "experiment=tuned_gru",
            "max_steps=30",
            "eval_interval=15",
            "checkpoint_interval=0",
            "threads=1",
            "log.progress=false",
            "data.path=words.txt",
            "hydra.run.dir=runs/gru",
        ],
        elsewhere,
    )
    assert run.returncode == 0, run.stderr
    assert "scaled to 3 (10% of max_steps=30)" in run.stderr
    assert (elsewhere / "runs/gru/metrics.json").is_file()
