"""A real TensorBoard server over a two-job grid sweep and a search with a pruned trial,
asked what its frontend asks.

TensorBoard is started on loopback with the sweep directory as its logdir, and its HTTP
API is queried as the browser's dashboards query it: the run list (Time Series), the
HParams experiment (its columns, which differ, its metrics in order) and the session
groups (one row per job, with its metric values and status). TensorBoard's HParams page
ticks the first five columns (differing ones first) and metrics it is given and draws a
job in parallel coordinates only when every ticked column has a value: the tests check
what that page would show (tests/e2e/test_dashboard_browser.py looks at the page itself).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tensorboard_server import get as _get
from tensorboard_server import post as _post
from tensorboard_server import tensorboard_server, tiny_search, tiny_sweep

from wavenet_harness.base.metrics import TRAIN_SPLIT_LOSS, VAL_BEST, VAL_LOSS
from wavenet_harness.tracking.hparams import METRIC_TAGS

ALL_STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]
SHOWN = 5  # columns and metrics TensorBoard's HParams page ticks: the first five of each


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory) -> Path:
    return tiny_sweep(tmp_path_factory.mktemp("tb_sweep"))


@pytest.fixture(scope="module")
def server(sweep_dir):
    with tensorboard_server(sweep_dir, 2) as url:
        yield url


@pytest.fixture(scope="module")
def search_dir(tmp_path_factory) -> Path:
    """Trial 0 (lr=0.5) finishes, trial 1 (lr=1e-6) is pruned at its first evaluation."""
    return tiny_search(tmp_path_factory.mktemp("tb_search"))


@pytest.fixture(scope="module")
def search_server(search_dir):
    with tensorboard_server(search_dir, 3) as url:
        yield url


def test_run_names_carry_the_swept_values(server):
    runs = _get(f"{server}/data/runs")
    assert sorted(runs) == ["0/tb/lr=0.05", "1/tb/lr=0.2"]
    tags = _get(f"{server}/data/plugin/scalars/tags")
    first_group = sorted({tag.split("/")[0] for tag in tags["0/tb/lr=0.05"]})[0]
    assert first_group == "loss" and VAL_LOSS in tags["0/tb/lr=0.05"]  # Time Series sorts groups by name: val first


def _experiment(url: str) -> dict:
    return _post(f"{url}/data/plugin/hparams/experiment", {"experimentName": "", "includeMetrics": True})


def _sessions(url: str, experiment: dict) -> list[dict]:
    """Every session, with the columns the HParams page asks for."""
    columns = [{"hparam": info["name"]} for info in experiment["hparamInfos"]]
    columns += [{"metric": info["name"]} for info in experiment["metricInfos"]]
    groups = _post(
        f"{url}/data/plugin/hparams/session_groups",
        {
            "experimentName": "",
            "allowedStatuses": ALL_STATUSES,
            "includeMetrics": True,
            "colParams": columns,
            "startIndex": 0,
            "sliceSize": 100,
        },
    )["sessionGroups"]
    return [dict(session, hparams=group["hparams"]) for group in groups for session in group["sessions"]]


def _check_read_at_a_glance(url: str, ticked: list[str], jobs: int) -> list[dict]:
    """What the HParams page shows: val loss first, the swept keys and the status ticked
    (marked differing: TensorBoard ticks those), every key listed, every job drawn."""
    experiment = _experiment(url)
    metrics = [info["name"]["tag"] for info in experiment["metricInfos"]]
    assert metrics == list(METRIC_TAGS) and metrics[:3] == [VAL_LOSS, TRAIN_SPLIT_LOSS, VAL_BEST]
    names = [info["name"] for info in experiment["hparamInfos"]]
    assert names[:SHOWN] == sorted(ticked)  # TensorBoard sorts the differing ones by name
    assert [info["name"] for info in experiment["hparamInfos"] if info.get("differs")] == names[:SHOWN]
    assert {"amp", "compile", "block_size", "max_steps", "seed"} <= set(names)  # every key can be ticked
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
    sessions = _check_read_at_a_glance(server, ["lr", "status", "model", "params", "max_steps"], 2)
    assert sorted(s["hparams"]["lr"] for s in sessions) == [0.05, 0.2]  # a float stays a number
    assert {s["hparams"]["status"] for s in sessions} == {"ok"}


def test_a_search_shows_every_trial_pruned_ones_too_with_integers_as_integers(search_server, search_dir):
    sessions = _check_read_at_a_glance(search_server, ["lr", "n_hidden", "status", "model", "params"], 3)
    by_trial = {s["name"].split("/")[0]: s for s in sessions}
    pruned = by_trial["1"]
    assert pruned["status"] == "STATUS_UNKNOWN"
    assert (by_trial["0"]["hparams"]["status"], pruned["hparams"]["status"]) == ("ok", "pruned")
    values = {m["name"]["tag"]: m["value"] for m in pruned["metricValues"]}
    intermediate = json.loads((search_dir / "1" / "metrics.json").read_text())
    assert values[VAL_LOSS] == values[VAL_BEST]  # its one evaluation, the last it reached
    assert values[TRAIN_SPLIT_LOSS] == pytest.approx(intermediate["train_loss"], rel=1e-6)
    assert {s["hparams"]["n_hidden"].strip() for s in sessions} <= {"8", "16"}
    runs = _get(f"{search_server}/data/runs")
    assert "1/tb/lr=1e-06 n_hidden=8" in runs, runs  # trial number, then its values, short


def test_both_sessions_have_their_metrics_status_and_times(server, sweep_dir):
    groups = _post(
        f"{server}/data/plugin/hparams/session_groups",
        {
            "experimentName": "",
            "allowedStatuses": ALL_STATUSES,
            "includeMetrics": True,
            "colParams": [{"hparam": "lr"}, {"metric": {"tag": VAL_LOSS, "group": ""}}],
            "startIndex": 0,
            "sliceSize": 100,
        },
    )["sessionGroups"]
    by_lr = {group["hparams"]["lr"]: group for group in groups}
    assert sorted(by_lr) == [0.05, 0.2]
    for lr, job in ((0.05, "0"), (0.2, "1")):
        (session,) = by_lr[lr]["sessions"]
        assert session["status"] == "STATUS_SUCCESS"
        assert 0 < session["startTimeSecs"] <= session["endTimeSecs"]
        values = {m["name"]["tag"]: m["value"] for m in session["metricValues"]}
        final = json.loads((sweep_dir / job / "metrics.json").read_text())
        assert values[VAL_LOSS] == pytest.approx(final["val_loss"], rel=1e-6)
        assert values[TRAIN_SPLIT_LOSS] == pytest.approx(final["train_loss"], rel=1e-6)
        assert by_lr[lr]["hparams"]["fast"] is False and by_lr[lr]["hparams"]["max_steps"].strip() == "60"
