"""What TensorBoard opens on: the tag names sort val first, the val curves end on their true
values at TensorBoard's default smoothing, HParams ticks the keys that matter and a status,
and the sweep's last screen links to Time Series with the val cards pinned.

(tests/e2e/test_dashboard_browser.py checks the same in a real browser.)"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import metadata as hparams_metadata

from wavenet_harness.base import metrics
from wavenet_harness.base.metrics import (
    LEARNING_RATE,
    MINIBATCH_LOSS,
    MINIBATCH_SMOOTH,
    RENAMED_TAGS,
    TRAIN_SPLIT_LOSS,
    VAL_BEST,
    VAL_LOSS,
    pinned_url,
)
from wavenet_harness.tracking.derived_curves import HeldCurve, ValBestCurve
from wavenet_harness.tracking.hparams import METRIC_TAGS, STATUS, ticked_columns
from wavenet_harness.tracking.hparams_file import HPARAMS_FILE
from wavenet_harness.tracking.tensorboard import TensorBoardTracker


def read_events(tb_dir: Path) -> EventAccumulator:
    events = EventAccumulator(str(tb_dir), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    return events


def scalars(events: EventAccumulator, tag: str) -> list[tuple[int, float]]:
    return [(e.step, e.value) for e in events.Scalars(tag)]


def session_start(events: EventAccumulator):
    content = events.PluginTagToContent("hparams")[hparams_metadata.SESSION_START_INFO_TAG]
    return hparams_metadata.parse_session_start_info_plugin_data(content)


def time_series_order(tags: list[str]) -> list[tuple[str, list[str]]]:
    """Time Series' groups and cards as TensorBoard 2.21 orders them: tags sorted with '/'
    before any letter, grouped by the part before the first '/', groups in order of their
    first tag (its frontend's zD and Qy)."""
    groups: dict[str, list[str]] = {}
    for tag in sorted(tags, key=lambda t: t.replace("/", "\x00")):
        groups.setdefault(tag.split("/", 1)[0], []).append(tag)
    return list(groups.items())


def smoothed_end(values: list[float], weight: float = 0.6) -> float:
    """The end of a line under TensorBoard's default smoothing: a debiased moving average."""
    last, smoothed = 0.0, values[0]
    for count, value in enumerate(values, start=1):
        last = last * weight + (1 - weight) * value
        smoothed = last / (1 - weight**count)
    return smoothed


def test_the_val_cards_come_first_and_the_train_curves_second():
    tags = [
        VAL_LOSS,
        VAL_BEST,
        TRAIN_SPLIT_LOSS,
        MINIBATCH_LOSS,
        MINIBATCH_SMOOTH,
        LEARNING_RATE,
        "network/tanh_saturation/level1",
        "network/update_ratio/output/weight",
    ]
    order = time_series_order(tags)
    assert [group for group, _ in order] == ["loss", "minibatch", "network", "opt"]  # the first two open
    assert order[0][1] == [VAL_LOSS, VAL_BEST, TRAIN_SPLIT_LOSS]
    assert order[1][1] == [MINIBATCH_LOSS, MINIBATCH_SMOOTH]
    assert METRIC_TAGS[0] == VAL_LOSS and set(METRIC_TAGS) == {
        VAL_LOSS,
        VAL_BEST,
        TRAIN_SPLIT_LOSS,
        MINIBATCH_LOSS,
        MINIBATCH_SMOOTH,
    }


def test_every_tag_name_is_declared_once_and_the_renamed_ones_are_listed():
    declared = {name: value for name, value in vars(metrics).items() if name.isupper() and isinstance(value, str)}
    tags = {value for name, value in declared.items() if name != "DEFAULT_ADDRESS"}
    assert len(tags) == len([name for name in declared if name != "DEFAULT_ADDRESS"])  # no two names for one tag
    assert set(RENAMED_TAGS.values()) <= tags and not set(RENAMED_TAGS) & tags


def _tracked_val(tmp_path: Path, name: str, evals: dict[int, float]) -> list[float]:
    tracker = TensorBoardTracker(tmp_path / name, {"lr": 0.1}, loss_every=50, smooth_window=50)
    for step in range(1, max(evals) + 1):
        tracker.on_train_loss(step, 3.0, 0.1)
        if step in evals:
            tracker.on_metrics(step, {VAL_LOSS: evals[step]})
    tracker.on_end({"status": "ok", "steps": max(evals)})
    events = read_events(tmp_path / name)
    return [v for _, v in scalars(events, VAL_LOSS)]


def test_at_default_smoothing_the_val_lines_end_in_the_true_order(tmp_path):
    """B ends better than A (2.1681 against 2.1715) after a late drop: smoothing the four
    evaluations alone ranks A first; the held curve ranks them truly."""
    a = {250: 2.40, 500: 2.30, 750: 2.20, 1000: 2.1715}
    b = {250: 2.60, 500: 2.50, 750: 2.40, 1000: 2.1681}
    assert smoothed_end(list(a.values())) < smoothed_end(list(b.values()))  # what raw points would show
    held_a, held_b = _tracked_val(tmp_path, "a", a), _tracked_val(tmp_path, "b", b)
    assert smoothed_end(held_a) == pytest.approx(2.1715, abs=1e-4)
    assert smoothed_end(held_b) == pytest.approx(2.1681, abs=1e-4)
    assert smoothed_end(held_b) < smoothed_end(held_a)


def test_held_points_repeat_the_last_value_with_its_wall_time_and_resume_bit_for_bit():
    curve = HeldCurve()
    first = curve.points(100, 2.5, wall_time=10.0)
    assert first == [(100, 2.5, 10.0)]  # nothing is held before the first evaluation
    second = curve.points(200, 2.75, wall_time=20.0)
    assert [s for s, _, _ in second] == [111, 122, 133, 144, 155, 166, 177, 188, 200]  # 8 held, then the evaluation
    assert all((v, t) == (2.5, 10.0) for s, v, t in second[:-1]) and second[-1] == (200, 2.75, 20.0)
    resumed = HeldCurve()
    resumed.load_state_dict(curve.state_dict())
    tail, resumed_tail = curve.end_points(205), resumed.end_points(205)
    assert [(s, v) for s, v, _ in tail] == [(s, v) for s, v, _ in resumed_tail]  # when: not in a checkpoint
    assert tail[-HeldCurve.TAIL_POINTS :] == [(205 + k, 2.75, 20.0) for k in range(1, HeldCurve.TAIL_POINTS + 1)]
    assert {t for _, _, t in resumed_tail} == {None}  # written with the time they are written
    assert ValBestCurve().state_dict().keys() == {"best", "step"}  # as checkpoints had it before


def test_hparams_ticks_the_keys_that_matter_then_status():
    hparams = {
        k: 1
        for k in (
            "n_embd",
            "n_hidden",
            "block_size",
            "depth",
            "lr",
            "batch_size",
            "optim",
            "schedule",
            "model",
            "params",
            "max_steps",
        )
    }
    search = ["n_embd", "n_hidden", "block_size", "depth", "lr", "batch_size", "optim", "schedule"]  # hier_optuna's
    assert ticked_columns(hparams, search) == ["lr", "optim", "n_hidden", "schedule", STATUS]
    assert ticked_columns(hparams, ["lr"]) == ["lr", STATUS, "model", "params", "max_steps"]
    assert ticked_columns(hparams, ["depth", "n_embd"]) == ["depth", "n_embd", STATUS, "model", "params"]


def test_the_hparams_file_sorts_first_and_ends_with_the_status(tmp_path):
    tracker = TensorBoardTracker(tmp_path / "tb", {"lr": 0.1}, loss_every=1, smooth_window=10, swept=["lr"])
    tracker.on_train_loss(1, 3.0, 0.1)
    tracker.on_metrics(1, {VAL_LOSS: 2.9})
    files = sorted(p.name for p in (tmp_path / "tb").iterdir())
    assert files[0] == HPARAMS_FILE and len(files) == 2 and all("tfevents" in name for name in files)
    assert session_start(read_events(tmp_path / "tb")).hparams[STATUS].string_value == "running"
    tracker.on_end({"status": "pruned", "steps": 1, "train_loss": 2.8})
    events = read_events(tmp_path / "tb")
    assert session_start(events).hparams[STATUS].string_value == "pruned"
    content = events.PluginTagToContent("hparams")[hparams_metadata.EXPERIMENT_TAG]
    experiment = hparams_metadata.parse_experiment_plugin_data(content)
    assert [h.name for h in experiment.hparam_infos][:2] == ["lr", STATUS]
    assert sorted(p.name for p in (tmp_path / "tb").iterdir()) == files  # replaced, no temporary file left


def test_the_sweeps_last_screen_links_to_the_val_loss_pinned():
    url = pinned_url()
    parts = urllib.parse.urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == ("http", "localhost:6006", "/", "")
    cards = json.loads(urllib.parse.parse_qs(parts.query)["pinnedCards"][0])
    assert cards == [{"plugin": "scalars", "tag": VAL_LOSS}]
    assert " " not in url and '"' not in url  # one word a terminal can open
    assert len(f"  # open {url}") <= 100  # a line of the 100-column closing screen
