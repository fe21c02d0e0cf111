"""A real TensorBoard server over a two-job grid sweep and a search with a pruned trial,
asked what its frontend asks.

TensorBoard is started on loopback with the sweep directory as its logdir, and its HTTP
API is queried as the browser's dashboards query it: the run list (Time Series), the
HParams experiment (its columns, which differ, its metrics in order) and the session
groups (one row per job, with its metric values). TensorBoard's HParams page ticks the
first five columns and metrics it is given and draws a job in parallel coordinates only
when every ticked column has a value: the tests check what that page would show.
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
from pathlib import Path

import pytest

from helpers import REPO, TINY_OVERRIDES, CliRunner, write_tiny_words
from wavenet_harness.tracking.hparams import METRIC_TAGS

ALL_STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]
SHOWN = 5  # columns and metrics TensorBoard's HParams page ticks: the first five of each


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tb_sweep")
    words = write_tiny_words(root)
    result = CliRunner()(
        ["--multirun", "lr=0.05,0.2", *TINY_OVERRIDES, f"data.path={words}", f"hydra.sweep.dir={root / 'sweep'}"],
        cwd=root,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return root / "sweep"


def _tensorboard_command() -> list[str]:
    exe = shutil.which("tensorboard")
    return [exe] if exe else [sys.executable, "-m", "tensorboard.main"]


@contextlib.contextmanager
def tensorboard_server(logdir: Path, runs: int):
    """Base URL of a TensorBoard serving `logdir` on 127.0.0.1 at a free port."""
    process = subprocess.Popen(
        [*_tensorboard_command(), "--logdir", str(logdir), "--host", "127.0.0.1", "--port", "0", "--load_fast=false"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
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


@pytest.fixture(scope="module")
def server(sweep_dir):
    with tensorboard_server(sweep_dir, 2) as url:
        yield url


@pytest.fixture(scope="module")
def search_dir(tmp_path_factory) -> Path:
    """A three-trial Optuna search over lr and n_hidden: random sampler seed 15 tries lr=0.5
    (finishes), then lr=1e-6, which barely learns and is pruned at its first evaluation."""
    root = tmp_path_factory.mktemp("tb_search")
    words = write_tiny_words(root)
    tiny = [o for o in TINY_OVERRIDES if not o.startswith("n_hidden=")]  # searched here
    result = CliRunner()(["--multirun", "hydra/sweeper=wavenet_optuna", *tiny, f"data.path={words}",
                          f"hydra.sweep.dir={root / 'search'}", "hydra.sweeper.sampler.name=random",
                          "hydra.sweeper.sampler.seed=15", "hydra.sweeper.n_trials=3",
                          "+hydra.sweeper.params.lr=[0.5,1e-6]", "+hydra.sweeper.params.n_hidden=[8,16]",
                          "hydra.sweeper.pruner.name=median", "hydra.sweeper.pruner.n_startup_trials=1"], cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    statuses = [json.loads((root / "search" / str(n) / "metrics.json").read_text())["status"] for n in range(3)]
    assert statuses[:2] == ["ok", "pruned"], statuses
    return root / "search"


@pytest.fixture(scope="module")
def search_server(search_dir):
    with tensorboard_server(search_dir, 3) as url:
        yield url


def _get(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def _post(url: str, body: dict):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "X-XSRF-Protected": "1"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _wait_for_runs(url: str, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if len(_get(f"{url}/data/runs")) >= count:
                return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail("tensorboard never listed the sweep's runs")


def test_run_names_carry_the_swept_values(server):
    runs = _get(f"{server}/data/runs")
    assert sorted(runs) == ["0/tb/lr=0.05", "1/tb/lr=0.2"]
    tags = _get(f"{server}/data/plugin/scalars/tags")
    first_group = sorted({tag.split("/")[0] for tag in tags["0/tb/lr=0.05"]})[0]
    assert first_group == "loss"  # Time Series sorts its groups by name: the loss curves come first


def _experiment(url: str) -> dict:
    return _post(f"{url}/data/plugin/hparams/experiment", {"experimentName": "", "includeMetrics": True})


def _sessions(url: str, experiment: dict) -> list[dict]:
    """Every session, with the columns the HParams page asks for."""
    columns = [{"hparam": info["name"]} for info in experiment["hparamInfos"]]
    columns += [{"metric": info["name"]} for info in experiment["metricInfos"]]
    groups = _post(f"{url}/data/plugin/hparams/session_groups", {
        "experimentName": "", "allowedStatuses": ALL_STATUSES, "includeMetrics": True, "colParams": columns,
        "startIndex": 0, "sliceSize": 100,
    })["sessionGroups"]
    return [dict(session, hparams=group["hparams"]) for group in groups for session in group["sessions"]]


def _check_read_at_a_glance(url: str, swept: list[str], jobs: int) -> list[dict]:
    """What the HParams page shows: val loss first, the swept keys first, every job drawn."""
    experiment = _experiment(url)
    metrics = [info["name"]["tag"] for info in experiment["metricInfos"]]
    assert metrics == list(METRIC_TAGS) and metrics[:2] == ["loss/val", "loss/train_split"]
    names = [info["name"] for info in experiment["hparamInfos"]]
    assert sorted(names[:len(swept)]) == sorted(swept)
    assert [info["name"] for info in experiment["hparamInfos"] if info.get("differs")] == names[:len(swept)]
    assert {"model", "params"} <= set(names) and not {"amp", "compile", "block_size", "max_steps"} & set(names)
    tags = {tag for run_tags in _get(f"{url}/data/plugin/scalars/tags").values() for tag in run_tags}
    assert "opt/lr" in tags and not tags & set(names), "a scalar tag shares a hyperparameter's name"
    sessions = _sessions(url, experiment)
    assert len(sessions) == jobs
    for session in sessions:
        values = {m["name"]["tag"]: m["value"] for m in session["metricValues"]}
        shown = names[:SHOWN] + metrics[:SHOWN]
        assert all(isinstance(values.get(tag), float) for tag in metrics[:SHOWN]), (session["name"], values)
        assert all(session["hparams"].get(name) is not None for name in names[:SHOWN]), shown
        for name in ("max_steps", "params"):  # whole numbers as written, in order as text
            assert re.fullmatch(r" *\d+", session["hparams"][name]), session["hparams"][name]
        assert isinstance(session["hparams"]["lr"], float)
    return sessions


def test_hparams_leads_with_val_loss_and_the_swept_key(server):
    sessions = _check_read_at_a_glance(server, ["lr"], 2)
    assert sorted(s["hparams"]["lr"] for s in sessions) == [0.05, 0.2]  # a float stays a number


def test_a_search_shows_every_trial_pruned_ones_too_with_integers_as_integers(search_server, search_dir):
    sessions = _check_read_at_a_glance(search_server, ["lr", "n_hidden"], 3)
    by_trial = {s["name"].split("/")[0]: s for s in sessions}
    pruned = by_trial["1"]
    assert pruned["status"] == "STATUS_UNKNOWN"
    values = {m["name"]["tag"]: m["value"] for m in pruned["metricValues"]}
    intermediate = json.loads((search_dir / "1" / "metrics.json").read_text())
    assert values["loss/val"] == values["loss/val_best"]  # its one evaluation, the last it reached
    assert values["loss/train_split"] == pytest.approx(intermediate["train_loss"], rel=1e-6)
    assert {s["hparams"]["n_hidden"].strip() for s in sessions} <= {"8", "16"}
    runs = _get(f"{search_server}/data/runs")
    assert "1/tb/lr=1e-06 n_hidden=8" in runs, runs  # trial number, then its values, short


def test_both_sessions_have_their_metrics_status_and_times(server, sweep_dir):
    groups = _post(f"{server}/data/plugin/hparams/session_groups", {
        "experimentName": "", "allowedStatuses": ALL_STATUSES, "includeMetrics": True,
        "colParams": [{"hparam": "lr"}, {"metric": {"tag": "loss/val", "group": ""}}],
        "startIndex": 0, "sliceSize": 100,
    })["sessionGroups"]
    by_lr = {group["hparams"]["lr"]: group for group in groups}
    assert sorted(by_lr) == [0.05, 0.2]
    for lr, job in ((0.05, "0"), (0.2, "1")):
        (session,) = by_lr[lr]["sessions"]
        assert session["status"] == "STATUS_SUCCESS"
        assert 0 < session["startTimeSecs"] <= session["endTimeSecs"]
        values = {m["name"]["tag"]: m["value"] for m in session["metricValues"]}
        final = json.loads((sweep_dir / job / "metrics.json").read_text())
        assert values["loss/val"] == pytest.approx(final["val_loss"], rel=1e-6)
        assert values["loss/train_split"] == pytest.approx(final["train_loss"], rel=1e-6)
        assert by_lr[lr]["hparams"]["fast"] is False and by_lr[lr]["hparams"]["max_steps"].strip() == "60"
