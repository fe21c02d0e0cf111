"""Shared fixtures: the real names.txt, tiny made-up words, `cli`, the one CLI runner, and `slurm`,
a one-node SLURM cluster for the session (tests/slurm_cluster.py).

Helpers the tests import live in helpers.py (on pytest's pythonpath), not here.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from slurm_cluster import SlurmCluster, SlurmUnavailable, slurm_cluster

from helpers import REPO, CliRunner, make_run, numbers, write_tiny_words


def _names_path() -> Path | None:
    for candidate in (
        os.environ.get("WAVENET_NAMES"),
        REPO / "data" / "names.txt",
        REPO.parent / "shared" / "data" / "names.txt",
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def names_path() -> Path:
    path = _names_path()
    if path is None:
        pytest.skip("names.txt not found (put it in data/ or set WAVENET_NAMES)")
    return path


@pytest.fixture
def tiny_words_file(tmp_path) -> Path:
    return write_tiny_words(tmp_path)


@pytest.fixture(scope="session")
def cli() -> CliRunner:
    """Runs the console scripts: in a subprocess, started, in this process or in a batch."""
    return CliRunner()


@pytest.fixture
def sweep(tmp_path) -> Path:
    """A hand-made sweep folder: finished, running, diverged and not yet started runs."""
    common = ["max_steps=100", "data.path=words.txt"]
    make_run(tmp_path, "0", [*common, "n_hidden=8", "lr=0.1"], **numbers(2.50))
    make_run(tmp_path, "1", [*common, "n_hidden=16", "lr=0.1"], **numbers(2.30))
    make_run(tmp_path, "2", [*common, "n_hidden=32", "lr=0.1"], **numbers(status="running"))
    make_run(tmp_path, "3", [*common, "n_hidden=64", "lr=0.1"], **numbers(status="diverged"))
    make_run(tmp_path, "10", [*common, "n_hidden=8", "lr=0.05"], **numbers(2.40))
    make_run(tmp_path, "11", [*common, "n_hidden=8", "lr=0.05"])  # started, no metrics.json yet
    return tmp_path


@pytest.fixture(scope="session")
def slurm():
    """A real one-node SLURM cluster (slurmctld, slurmd, munged) for the whole session.

    Debian's packages are installed when missing. Where that cannot be done (not root, no
    apt-get) the tests that need it are skipped with the reason; under CI (CI set) they fail.
    """
    stack = contextlib.ExitStack()
    try:
        cluster: SlurmCluster = stack.enter_context(slurm_cluster())
    except SlurmUnavailable as why:
        if os.environ.get("CI"):
            pytest.fail(f"no SLURM cluster in CI: {why}")
        pytest.skip(str(why))
    with stack:
        yield cluster
