"""TensorBoard output read back with TensorBoard's own event reader: tags, values, HParams,
samples and diagnostics, and proof that samples and diagnostics leave training unchanged."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import api_pb2 as hparams_api
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.plugins.hparams.api_pb2 import Status

from helpers import TINY_OVERRIDES, compose, run_config
from wavenet_harness.adapter.config import validate
from wavenet_harness.adapter.job import NOT_HPARAMS, OPTION_COLUMNS, run_training
from wavenet_harness.base.metrics import LEARNING_RATE as LR_TAG
from wavenet_harness.base.metrics import MINIBATCH_LOSS, MINIBATCH_SMOOTH, TRAIN_SPLIT_LOSS, VAL_BEST, VAL_LOSS
from wavenet_harness.models import build_model
from wavenet_harness.tracking.derived_curves import LossSmoother, ValBestCurve
from wavenet_harness.tracking.diagnostics import Diagnostics, update_to_data_log10
from wavenet_harness.tracking.hparams import METRIC_TAGS, hparam_values, run_label, swept_overrides
from wavenet_harness.tracking.tensorboard import TensorBoardTracker
from wavenet_harness.training.optim import PlainSGD


def read_events(tb_dir: Path) -> EventAccumulator:
    events = EventAccumulator(str(tb_dir), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    events.Reload()
    return events


def scalars(events: EventAccumulator, tag: str) -> list[tuple[int, float]]:
    return [(e.step, e.value) for e in events.Scalars(tag)]


def texts(events: EventAccumulator, tag: str) -> dict[int, str]:
    return {e.step: e.tensor_proto.string_val[0].decode() for e in events.Tensors(tag)}


def hparams_plugin(events: EventAccumulator) -> dict:
    content = events.PluginTagToContent("hparams")
    return {
        "experiment": hparams_metadata.parse_experiment_plugin_data(content[hparams_metadata.EXPERIMENT_TAG])
        if hparams_metadata.EXPERIMENT_TAG in content
        else None,
        "start": hparams_metadata.parse_session_start_info_plugin_data(
            content[hparams_metadata.SESSION_START_INFO_TAG]
        ),
        "end": hparams_metadata.parse_session_end_info_plugin_data(content[hparams_metadata.SESSION_END_INFO_TAG])
        if hparams_metadata.SESSION_END_INFO_TAG in content
        else None,
    }


LOSSES = [3.0 - 0.01 * i + 0.05 * (i % 7) for i in range(60)]


def test_loss_smoother_means_of_windows_and_partial_tail():
    smoother = LossSmoother(25)
    points = [(step, smoother.add(loss)) for step, loss in enumerate(LOSSES)]
    points = [(step, mean) for step, mean in points if mean is not None] + [(59, smoother.flush())]
    assert [step for step, _ in points] == [24, 49, 59]
    expected = [sum(LOSSES[0:25]) / 25, sum(LOSSES[25:50]) / 25, sum(LOSSES[50:60]) / 10]
    assert [mean for _, mean in points] == pytest.approx(expected, rel=1e-12)
    assert smoother.flush() is None  # nothing left over


def _drive_tracker(tb_dir: Path, status: str = "ok", loss_every: int = 1, sampler=None, swept=None) -> None:
    hparams = {"lr": 0.1, "model": "hier", "n_hidden": 8, "params": "641", "fast": False, "seed": "42"}
    tracker = TensorBoardTracker(tb_dir, hparams, loss_every=loss_every, smooth_window=25, sampler=sampler, swept=swept)
    for step, loss in enumerate(LOSSES):
        tracker.on_train_loss(step, loss, 0.1 if step < 45 else 0.01)
        if (step + 1) in (20, 40):
            tracker.on_metrics(step + 1, {VAL_LOSS: 2.5 - step / 100})
    if status == "ok":
        tracker.on_metrics(60, {VAL_LOSS: 2.2})
    tracker.on_end(
        {
            "status": status,
            "steps": 60,
            "params": 641,
            "val_loss": 2.2 if status == "ok" else None,
            "train_loss": 2.1 if status == "ok" else None,
        }
    )


def test_tracker_tags_and_values(tmp_path):
    _drive_tracker(tmp_path / "tb", sampler=lambda step: f"- name{step}")
    events = read_events(tmp_path / "tb")

    loss = scalars(events, MINIBATCH_LOSS)
    assert [s for s, _ in loss] == list(range(60))
    assert [v for _, v in loss] == pytest.approx(LOSSES, rel=1e-6)  # stored as float32
    smooth = scalars(events, MINIBATCH_SMOOTH)
    assert [s for s, _ in smooth] == [24, 49, 59]
    means = [sum(LOSSES[0:25]) / 25, sum(LOSSES[25:50]) / 25, sum(LOSSES[50:60]) / 10]
    assert [v for _, v in smooth] == pytest.approx(means, rel=1e-6)
    lr = dict(scalars(events, LR_TAG))
    assert "lr" not in events.Tags()["scalars"]  # the hyperparameter's name is not a tag
    assert (lr[44], lr[45]) == (pytest.approx(0.1), pytest.approx(0.01))  # the drop is one step wide
    val = dict(scalars(events, VAL_LOSS))  # held between evaluations and after the last
    assert (val[20], val[40], val[60], val[80]) == (
        pytest.approx(2.31),
        pytest.approx(2.11),
        pytest.approx(2.2),
        pytest.approx(2.2),
    )
    assert scalars(events, TRAIN_SPLIT_LOSS) == [(60, pytest.approx(2.1))]
    assert texts(events, "samples") == {20: "- name20", 40: "- name40", 60: "- name60"}
    assert not any(tag.startswith("hparams/") for tag in events.Tags()["scalars"])  # no metric twice

    plugin = hparams_plugin(events)
    assert plugin["experiment"] is None  # a single run: TensorBoard marks what differs itself
    start = plugin["start"].hparams
    assert start["n_hidden"].number_value == 8 and start["model"].string_value == "hier"
    assert start["fast"].WhichOneof("kind") == "bool_value" and start["fast"].bool_value is False
    assert start["status"].string_value == "ok"  # written again, whole, at the end
    assert plugin["end"].status == Status.Value("STATUS_SUCCESS")
    assert 0 < plugin["start"].start_time_secs <= plugin["end"].end_time_secs


def test_lr_is_drawn_as_the_schedule_is(tmp_path):
    """A step stays a step between logged points; a curve is sampled every loss_every steps."""
    _drive_tracker(tmp_path / "tb", loss_every=10)
    step_schedule = scalars(read_events(tmp_path / "tb"), LR_TAG)
    assert step_schedule == [(s, pytest.approx(0.1)) for s in (0, 10, 20, 30, 40, 44)] + [
        (s, pytest.approx(0.01)) for s in (45, 50, 59)
    ]

    tracker = TensorBoardTracker(tmp_path / "cos", {"lr": 0.1}, loss_every=10, smooth_window=25)
    curve = [0.05 * (1 + math.cos(math.pi * s / 40)) for s in range(40)]
    for step, lr in enumerate(curve):
        tracker.on_train_loss(step, 3.0, lr)
    tracker.on_end({"status": "ok", "steps": 40})
    logged = scalars(read_events(tmp_path / "cos"), LR_TAG)
    assert [s for s, _ in logged] == [0, 10, 20, 30, 39]
    assert [v for _, v in logged] == pytest.approx([curve[s] for s, _ in logged], rel=1e-6)


def test_hparam_values_show_whole_numbers_as_right_aligned_text_that_sorts_in_order():
    values = hparam_values(run_config("n_hidden=64"), 100, NOT_HPARAMS, OPTION_COLUMNS)
    assert (values["n_hidden"].strip(), values["max_steps"].strip(), values["params"].strip()) == (
        "64",
        "200000",
        "100",
    )
    assert values["lr"] == 0.1 and values["fast"] is False  # floats stay numbers, booleans booleans
    wider = hparam_values(run_config("n_hidden=128"), 100, NOT_HPARAMS, OPTION_COLUMNS)
    assert sorted([wider["n_hidden"], values["n_hidden"]]) == [values["n_hidden"], wider["n_hidden"]]  # 64 < 128


def test_a_sweep_job_declares_the_experiment_val_loss_first_swept_keys_first(tmp_path):
    _drive_tracker(tmp_path / "tb", swept=["n_hidden", "lr"])
    experiment = hparams_plugin(read_events(tmp_path / "tb"))["experiment"]
    assert [m.name.tag for m in experiment.metric_infos] == list(METRIC_TAGS)
    assert METRIC_TAGS[:3] == (VAL_LOSS, TRAIN_SPLIT_LOSS, VAL_BEST)
    columns = [(h.name, h.differs) for h in experiment.hparam_infos]
    # lr leads; the five marked differing are the five TensorBoard ticks; every key is listed
    assert columns[:5] == [("lr", True), ("n_hidden", True), ("status", True), ("model", True), ("params", True)]
    assert {name for name, differs in columns[5:] if differs} == set()
    assert {"fast", "seed"} <= {name for name, _ in columns}
    by_name = {h.name: h for h in experiment.hparam_infos}
    assert by_name["params"].type == hparams_api.DATA_TYPE_STRING and not by_name["params"].domain_discrete
    assert by_name["lr"].type == hparams_api.DATA_TYPE_FLOAT64
    assert [v.string_value for v in by_name["status"].domain_discrete.values] == [
        "ok",
        "pruned",
        "diverged",
        "failed",
        "interrupted",
        "running",
    ]
    names = {h.name for h in experiment.hparam_infos} | {"lr", "n_hidden", "params"}
    assert not names & set(read_events(tmp_path / "tb").Tags()["scalars"])  # one `lr` axis, not two


def test_val_best_is_a_staircase_that_ends_on_the_best_value_under_default_smoothing(tmp_path):
    _drive_tracker(tmp_path / "tb")  # val 2.31 at 20, 2.11 at 40, 2.2 at 60
    best = scalars(read_events(tmp_path / "tb"), VAL_BEST)
    assert [s for s, _ in best] == sorted({s for s, _ in best})  # one point per step, in order
    assert dict(best)[20] == pytest.approx(2.31) and dict(best)[60] == pytest.approx(2.11)
    assert all(v == pytest.approx(2.31) for s, v in best if 20 <= s < 40)
    assert [s for s, _ in best][-ValBestCurve.TAIL_POINTS :] == list(range(61, 61 + ValBestCurve.TAIL_POINTS))
    # TensorBoard's default smoothing: a debiased moving average over points, weight 0.6.
    last, smoothed = 0.0, None
    for count, (_, value) in enumerate(best, start=1):
        last = last * 0.6 + 0.4 * value
        smoothed = last / (1 - 0.6**count)
    assert smoothed == pytest.approx(2.11, abs=1e-4)
    raw = [v for _, v in scalars(read_events(tmp_path / "tb"), VAL_LOSS)]
    assert smoothed < min(raw) + 1e-4


def test_val_best_of_a_resumed_run_is_the_uninterrupted_runs():
    evals = {20: 2.5, 40: 2.3, 60: 2.4, 80: 2.2}

    def drive(curve, steps):
        return [point for step in steps for point in curve.points(step, evals[step], wall_time=1000.0 + step)]

    straight = ValBestCurve()
    whole = drive(straight, [20, 40, 60, 80]) + straight.end_points(80)
    first = ValBestCurve()
    before = drive(first, [20, 40])  # stopped at step 50: no tail, its state goes into the checkpoint
    resumed = ValBestCurve()
    resumed.load_state_dict(first.state_dict())
    after = drive(resumed, [60, 80]) + resumed.end_points(80)
    assert [(s, v) for s, v, _ in before + after] == [(s, v) for s, v, _ in whole]  # the wall times: not kept
    assert [v for s, v, _ in whole if s > 80] == [2.2] * ValBestCurve.TAIL_POINTS


def test_a_running_job_already_has_its_hparams_row(tmp_path):
    tracker = TensorBoardTracker(tmp_path / "tb", {"lr": 0.1, "params": 641}, loss_every=1, smooth_window=25)
    for step in range(20):
        tracker.on_train_loss(step, 3.0, 0.1)
    tracker.on_metrics(20, {VAL_LOSS: 2.9})  # flushes, as at every evaluation
    plugin = hparams_plugin(read_events(tmp_path / "tb"))
    assert plugin["start"].hparams["lr"].number_value == pytest.approx(0.1)
    assert plugin["start"].hparams["status"].string_value == "running"
    assert plugin["end"] is None  # no end record until the run ends
    tracker.close()


def test_loss_every_thins_train_loss_but_not_the_smoothing(tmp_path):
    _drive_tracker(tmp_path / "tb", loss_every=10)
    events = read_events(tmp_path / "tb")
    assert [s for s, _ in scalars(events, MINIBATCH_LOSS)] == [0, 10, 20, 30, 40, 50]
    assert [s for s, _ in scalars(events, MINIBATCH_SMOOTH)] == [24, 49, 59]
    assert "samples" not in events.Tags()["tensors"]


def test_interrupted_run_leaves_its_partial_window_to_the_resumed_run(tmp_path):
    _drive_tracker(tmp_path / "tb", status="interrupted")
    events = read_events(tmp_path / "tb")
    assert [s for s, _ in scalars(events, MINIBATCH_SMOOTH)] == [24, 49]
    assert hparams_plugin(events)["end"].status == Status.Value("STATUS_UNKNOWN")
    assert hparams_plugin(events)["start"].hparams["status"].string_value == "interrupted"
    assert [s for s, _ in scalars(events, VAL_LOSS)][-1] == 40  # its last evaluation stays its metric: no tail
    assert [s for s, _ in scalars(events, VAL_BEST)][-1] == 40  # no tail: the resumed run goes on
    assert TRAIN_SPLIT_LOSS not in events.Tags()["scalars"]


def test_every_job_reports_the_same_hparam_keys():
    """The HParams tab takes its columns from one job, so group choices must not change the keys."""
    base = compose()
    other = compose("model=mlp", "optim=adamw", "schedule=cosine", "n_hidden=64")
    a, b = (
        hparam_values(validate(cfg), params, NOT_HPARAMS, OPTION_COLUMNS) for cfg, params in ((base, 100), (other, 200))
    )
    assert a.keys() == b.keys()
    assert {"lr", "n_hidden", "block_size", "batch_size", "model", "optim", "schedule", "params"} <= a.keys()
    assert not any(key.startswith("log") for key in a)
    assert (a["model"], a["optim"], a["schedule"]) == ("hier", "sgd", "step")
    assert (b["model"], b["optim"], b["schedule"], b["n_hidden"].strip()) == ("mlp", "adamw", "cosine", "64")
    assert a["schedule.warmup_steps"].strip() == "0" and b["schedule.warmup_steps"].strip() == "1000"
    assert a["optim.weight_decay"] == 0.0 and b["optim.weight_decay"] == 0.01


class RecordingWriter:
    def __init__(self):
        self.scalars, self.histograms = {}, {}

    def add_scalar(self, tag, value, step):
        self.scalars[(tag, step)] = value

    def add_histogram(self, tag, values, step):
        self.histograms[(tag, step)] = values


def test_diagnostics_match_the_lecture_formulas():
    torch.manual_seed(0)
    model = build_model("hier", 27, 8, 10, 16, 3)
    optimizer = PlainSGD(model.parameters(), lr=0.1)
    writer = RecordingWriter()
    diagnostics = Diagnostics(model, writer, every=2)
    tanh_outputs = {}
    for name, module in diagnostics.tanh_layers:
        module.register_forward_hook(lambda m, i, out, name=name: tanh_outputs.__setitem__(name, out.detach()))

    X, Y = torch.randint(0, 27, (32, 8)), torch.randint(0, 27, (32,))
    model(X, Y)[1].backward()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    optimizer.step()
    diagnostics.on_optimizer_step(0)

    assert len(diagnostics.tanh_layers) == 3
    for name, out in tanh_outputs.items():
        expected = (out.abs() > 0.97).float().mean().item() * 100
        assert writer.scalars[(f"network/tanh_saturation/{name}", 0)] == pytest.approx(expected)
        assert (f"network/activations/{name}", 0) in writer.histograms
        assert (f"network/activation_grads/{name}", 0) in writer.histograms
    assert [name for name, _ in diagnostics.tanh_layers] == ["level1/tanh", "level2/tanh", "level3/tanh"]
    readable = dict(
        zip((name for name, _ in model.named_parameters()), (name for name, _ in diagnostics.params), strict=True)
    )
    assert readable["layers.0.weight"] == "embedding/weight" and readable["layers.13.bias"] == "output/bias"
    assert readable["layers.3.gamma"] == "level1/batchnorm/gamma"
    for param_name, p in model.named_parameters():
        name = readable[param_name]
        assert (f"network/grads/{name}", 0) in writer.histograms
        if p.ndim == 2:  # the lecture's ud: (lr * grad).std() / data.std(), after the update
            lecture = ((0.1 * p.grad).std() / p.data.std()).log10().item()
            assert writer.scalars[(f"network/update_ratio/{name}", 0)] == pytest.approx(lecture, abs=1e-4)
            assert update_to_data_log10(p.detach() - before[param_name], p.detach()) == pytest.approx(lecture, abs=1e-4)

    # step 1 is not a diagnostics step: nothing more is written
    written = len(writer.scalars)
    model.zero_grad()
    model(X, Y)[1].backward()
    optimizer.step()
    diagnostics.on_optimizer_step(1)
    assert len(writer.scalars) == written


def _tiny_run(tmp_path: Path, words: Path, name: str, *extra: str) -> tuple[dict, EventAccumulator]:
    cfg = compose(f"data.path={words}", *TINY_OVERRIDES, "log.loss_every=1", *extra)
    metrics = run_training(cfg, tmp_path / name)
    return metrics, read_events(tmp_path / name / "tb")


def test_samples_and_diagnostics_leave_training_bit_exact(tmp_path, tiny_words_file):
    plain, plain_events = _tiny_run(tmp_path, tiny_words_file, "plain", "log.samples=0", "log.diagnostics=false")
    watched, events = _tiny_run(
        tmp_path, tiny_words_file, "watched", "log.samples=3", "log.diagnostics=true", "log.diagnostics_every=20"
    )
    assert plain["status"] == watched["status"] == "ok"
    assert (watched["train_loss"], watched["val_loss"]) == (plain["train_loss"], plain["val_loss"])
    assert scalars(events, MINIBATCH_LOSS) == scalars(plain_events, MINIBATCH_LOSS)

    # the smoothed curve of a real run: window 25 over 60 steps
    losses = [v for _, v in scalars(events, MINIBATCH_LOSS)]
    assert len(losses) == 60
    smooth = scalars(events, MINIBATCH_SMOOTH)
    assert [s for s, _ in smooth] == [24, 49, 59]
    means = [sum(losses[0:25]) / 25, sum(losses[25:50]) / 25, sum(losses[50:60]) / 10]
    assert [v for _, v in smooth] == pytest.approx(means, rel=1e-6)
    assert dict(scalars(events, VAL_LOSS))[60] == pytest.approx(watched["val_loss"])
    assert scalars(events, VAL_LOSS)[-1][1] == pytest.approx(watched["val_loss"])  # its tail holds it
    assert scalars(events, TRAIN_SPLIT_LOSS) == [(60, pytest.approx(watched["train_loss"]))]
    start = hparams_plugin(events)["start"].hparams  # a single run: whole numbers read as written
    assert (
        start["params"].string_value.strip() == str(watched["params"]) and start["n_hidden"].string_value.strip() == "8"
    )

    samples = texts(events, "samples")
    assert sorted(samples) == [20, 40, 60]
    assert all(len(text.splitlines()) == 3 for text in samples.values())

    tags = events.Tags()
    saturation = [t for t in tags["scalars"] if t.startswith("network/tanh_saturation/")]
    assert len(saturation) == 3  # one per tanh layer of the depth-3 tree
    for tag in saturation:
        steps = [s for s, _ in scalars(events, tag)]
        assert steps == [0, 20, 40] and all(0 <= v <= 100 for _, v in scalars(events, tag))
    assert any(t.startswith("network/update_ratio/") for t in tags["scalars"])
    for kind in ("activations", "activation_grads", "grads"):
        assert any(t.startswith(f"network/{kind}/") for t in tags["histograms"])
    assert not any(t.startswith("network/") for t in plain_events.Tags()["scalars"])
    assert "samples" not in plain_events.Tags()["tensors"]


class MetricsFileReader:
    """A listener that reads metrics.json as `wavenet-report` would, at every step."""

    def __init__(self, path: Path):
        self.path = path
        self.seen: dict[int, dict] = {}

    def on_train_loss(self, step, loss, lr):
        self.seen[step] = json.loads(self.path.read_text())

    def on_metrics(self, step, metrics):
        pass


def test_metrics_json_follows_every_evaluation_and_checkpoint(tmp_path, tiny_words_file):
    cfg = compose(f"data.path={tiny_words_file}", *TINY_OVERRIDES, "checkpoint_interval=30")
    reader = MetricsFileReader(tmp_path / "run" / "metrics.json")
    final = run_training(cfg, tmp_path / "run", listeners=[reader])
    assert reader.seen[5]["steps"] == 0 and reader.seen[5]["val_loss"] is None
    after_eval = reader.seen[20]  # evaluated at step 20 (eval_interval=20)
    assert (after_eval["status"], after_eval["steps"], after_eval["max_steps"]) == ("running", 20, 60)
    assert after_eval["val_loss"] is not None and after_eval["seconds"] > 0
    after_checkpoint = reader.seen[30]  # checkpoint at step 30, no evaluation there
    assert after_checkpoint["steps"] == 30 and after_checkpoint["val_loss"] == after_eval["val_loss"]
    assert reader.seen[40]["steps"] == 40 and reader.seen[40]["val_loss"] != after_eval["val_loss"]
    assert final["status"] == "ok" and final["steps"] == 60


def test_a_sweep_job_is_named_by_the_values_only_it_has():
    job = ["n_hidden=64", "max_steps=3000", "data.path=/data/words.txt", "+optuna.trial=3", "lr=0.0016994284286846403"]
    own = swept_overrides(job, fixed_keys={"max_steps", "data.path"})
    assert own == ["n_hidden=64", "lr=0.0016994284286846403"]
    assert run_label(own) == "lr=0.0017 n_hidden=64"  # lr first
    assert run_label(["data.path=/a/b.txt"]) == "path=_a_b.txt"  # one folder, not three
    assert run_label([]) == ""


def test_a_search_trial_name_leads_with_what_matters_and_fits_one_legend_line():
    trial = [
        "n_embd=16",
        "n_hidden=106",
        "block_size=8",
        "depth=4",
        "lr=0.0016994284286846403",
        "batch_size=64",
        "optim=adamw",
        "schedule=cosine",
    ]
    assert run_label(trial) == "lr=0.0017 adamw n_hidden=106 +5"  # a group's choice by its value
    regularised = [
        "n_embd=48",
        "n_hidden=173",
        "model.dropout=0.21539834816417347",
        "lr=0.0016994284286846403",
        "optim.weight_decay=0.0452",
    ]
    assert run_label(regularised) == "lr=0.0017 weight_decay=0.0452 +3"
    assert run_label(["model.dropout=0.1", "optim.dropout=0.2"]) == "model.dropout=0.1 +1"  # alike: full keys
