"""A real TensorBoard server over a two-job sweep, asked what its frontend asks.

TensorBoard is started on loopback with the sweep directory as its logdir, and its HTTP
API is queried as the browser's dashboards query it: the run list (Time Series), the
HParams experiment (which keys differ, which metrics exist) and the session groups (one
row per job, with its metric values).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import TINY_OVERRIDES, CliRunner, write_tiny_words

ALL_STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tb_sweep")
    words = write_tiny_words(root)
    result = CliRunner()(["--multirun", "lr=0.05,0.2", *TINY_OVERRIDES, f"data.path={words}", f"hydra.sweep.dir={root / 'sweep'}"],
                     cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    return root / "sweep"


def _tensorboard_command() -> list[str]:
    exe = shutil.which("tensorboard")
    return [exe] if exe else [sys.executable, "-m", "tensorboard.main"]


@pytest.fixture(scope="module")
def server(sweep_dir):
    """Base URL of a TensorBoard serving the sweep on 127.0.0.1 at a free port."""
    process = subprocess.Popen(
        [*_tensorboard_command(), "--logdir", str(sweep_dir), "--host", "127.0.0.1", "--port", "0", "--load_fast=false"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
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
        _wait_for_runs(url, 2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


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


def test_hparams_marks_the_swept_key_as_differing_and_only_it(server):
    experiment = _post(f"{server}/data/plugin/hparams/experiment", {"experimentName": "", "includeMetrics": True})
    infos = {info["name"]: info for info in experiment["hparamInfos"]}
    differing = [name for name, info in infos.items() if info.get("differs")]
    assert differing == ["lr"]
    assert experiment["hparamInfos"][0]["name"] == "lr"  # shown first in the table and the plots
    for constant in ("n_hidden", "batch_size", "model", "optim", "fast", "seed"):
        assert not infos[constant].get("differs"), constant
    assert infos["lr"]["type"] == "DATA_TYPE_FLOAT64"
    assert infos["fast"]["type"] == "DATA_TYPE_BOOL"
    metrics = {info["name"]["tag"] for info in experiment["metricInfos"]}
    assert {"loss/val", "loss/train", "loss/train_smooth", "loss/train_split"} <= metrics
    assert not any(tag.startswith("hparams/") for tag in metrics)  # no metric twice


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
        assert by_lr[lr]["hparams"]["fast"] is False and by_lr[lr]["hparams"]["max_steps"] == "60"
