"""A real TensorBoard on loopback, and the tiny sweep and search the dashboard tests serve.

`tensorboard_server(logdir, runs)` starts `tensorboard --logdir LOGDIR` on 127.0.0.1 at a
free port and yields its base URL once it lists `runs` runs; `get` and `post` ask its HTTP
API as its frontend does. `tiny_sweep(root)` trains a two-job grid over lr and
`tiny_search(root)` a three-trial Optuna search over lr and n_hidden whose second trial is
pruned, both on tiny made-up words in seconds.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import REPO, TINY_OVERRIDES, CliRunner, write_tiny_words


def _tensorboard_command() -> list[str]:
    exe = shutil.which("tensorboard")
    return [exe] if exe else [sys.executable, "-m", "tensorboard.main"]


@contextlib.contextmanager
def tensorboard_server(logdir: Path, runs: int) -> Iterator[str]:
    """Base URL of a TensorBoard serving `logdir` on 127.0.0.1 at a free port."""
    process = subprocess.Popen(
        [*_tensorboard_command(), "--logdir", str(logdir), "--host", "127.0.0.1", "--port", "0", "--load_fast=false"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None  # stdout=PIPE
    try:
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                pytest.fail("tensorboard exited before serving")
            match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
            url = match.group(1) if match else None
        assert url, "tensorboard did not print its address"
        _wait_for_runs(url, runs)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def get(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def post(url: str, body: dict):
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "X-XSRF-Protected": "1"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _wait_for_runs(url: str, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if len(get(f"{url}/data/runs")) >= count:
                return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail("tensorboard never listed the sweep's runs")


def tiny_sweep(root: Path) -> Path:
    """A two-job grid sweep over lr (0.05, 0.2) in root/sweep."""
    words = write_tiny_words(root)
    result = CliRunner()(
        ["--multirun", "lr=0.05,0.2", *TINY_OVERRIDES, f"data.path={words}", f"hydra.sweep.dir={root / 'sweep'}"],
        cwd=root,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return root / "sweep"


def tiny_search(root: Path) -> Path:
    """A three-trial Optuna search over lr and n_hidden in root/search: random sampler seed 15
    tries lr=0.5 (finishes), then lr=1e-6, which barely learns and is pruned at its first
    evaluation."""
    words = write_tiny_words(root)
    tiny = [o for o in TINY_OVERRIDES if not o.startswith("n_hidden=")]  # searched here
    result = CliRunner()(
        [
            "--multirun",
            "hydra/sweeper=wavenet_optuna",
            *tiny,
            f"data.path={words}",
            f"hydra.sweep.dir={root / 'search'}",
            "hydra.sweeper.sampler.name=random",
            "hydra.sweeper.sampler.seed=15",
            "hydra.sweeper.n_trials=3",
            "+hydra.sweeper.params.lr=[0.5,1e-6]",
            "+hydra.sweeper.params.n_hidden=[8,16]",
            "hydra.sweeper.pruner.name=median",
            "hydra.sweeper.pruner.n_startup_trials=1",
        ],
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    statuses = [json.loads((root / "search" / str(n) / "metrics.json").read_text())["status"] for n in range(3)]
    assert statuses[:2] == ["ok", "pruned"], statuses
    return root / "search"
