"""Weight averaging (ema_decay): the update rule, buffers, and that it leaves training alone."""

from __future__ import annotations

import pytest
import torch

from helpers import TINY_WORDS, compose
from wavenet_harness.adapter.config import validate
from wavenet_harness.base.data import build_dataset
from wavenet_harness.base.errors import ConfigError
from wavenet_harness.models import build_model
from wavenet_harness.training.averaging import WeightAverage, checkpoint_entry, scored_weights, weight_average
from wavenet_harness.training.loop import TrainSettings, train
from wavenet_harness.training.optim import PlainSGD
from wavenet_harness.training.schedules import build_schedule


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))


def test_update_moves_each_weight_by_the_warmed_up_decay_and_copies_buffers():
    model = _model()
    average = WeightAverage(model, decay=0.99)
    start = [p.detach().clone() for p in model.parameters()]
    with torch.no_grad():  # a training step: new weights, new running statistics
        for p in model.parameters():
            p.add_(1.0)
        model(torch.randn(8, 3))
    for step, expected_decay in ((0, 0.1), (5, 6 / 15), (10_000, 0.99)):
        assert average.decay_at(step) == pytest.approx(expected_decay)
    average.update(0)
    for ema, old, new in zip(average.model.parameters(), start, model.parameters(), strict=True):
        torch.testing.assert_close(ema, 0.1 * old + 0.9 * new, rtol=1e-6, atol=1e-7)
        assert not ema.requires_grad
    for ema, live in zip(average.model.buffers(), model.buffers(), strict=True):
        assert torch.equal(ema, live)  # running statistics copied, not averaged
    before = [p.clone() for p in average.model.parameters()]
    average.update(10_000)
    for ema, old, new in zip(average.model.parameters(), before, model.parameters(), strict=True):
        torch.testing.assert_close(ema, 0.99 * old + 0.01 * new, rtol=1e-6, atol=1e-7)


def test_checkpoint_entry_and_scored_weights():
    model = _model()
    assert checkpoint_entry(None) == {}
    average = WeightAverage(model, 0.9)
    state = {"model": {"raw": 1}, **checkpoint_entry(average)}
    assert scored_weights(state) is state["ema"] and set(state["ema"]) == set(model.state_dict())
    assert scored_weights({"model": {"raw": 1}}) == {"raw": 1}


@pytest.mark.parametrize("value", [1, 1.5, -0.1, float("nan")])
def test_bad_ema_decay_is_one_clear_error(value):
    cfg = compose()
    cfg["ema_decay"] = value
    with pytest.raises(ConfigError, match=r"ema_decay=.* is not allowed: a number in \[0, 1\)"):
        validate(cfg)


def test_off_by_default():
    cfg = compose()
    assert cfg["ema_decay"] == 0 and weight_average(cfg["ema_decay"], _model()) is None


def _run(average: bool):
    """40 SGD steps of a tiny hier model (batchnorm inside), with or without averaging."""
    data = build_dataset(TINY_WORDS * 4, 8)
    torch.manual_seed(1)
    model = build_model("hier", data.vocab.size, 8, 4, 8, 3)
    averaged = WeightAverage(model, 0.9) if average else None
    settings = TrainSettings(max_steps=40, batch_size=8, eval_interval=10)
    evals = []

    class Evals:
        def on_train_loss(self, step, loss, lr):
            pass

        def on_metrics(self, step, metrics):
            evals.append(metrics["loss/val"])

    result = train(
        model,
        PlainSGD(model.parameters(), lr=0.1),
        build_schedule("constant", 0.1, 40),
        (data.train.X, data.train.Y),
        (data.val.X, data.val.Y),
        settings,
        listeners=[Evals()],
        averaged=averaged,
    )
    return model, averaged, result, evals


def test_averaging_leaves_the_training_itself_unchanged():
    """The raw weights of a run with averaging are bit for bit those of a run without (no
    random draws, no change to the steps), and only what is scored differs."""
    plain_model, _, plain, plain_evals = _run(average=False)
    model, averaged, result, evals = _run(average=True)
    for a, b in zip(plain_model.state_dict().values(), model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert plain.extra["scored_weights"] == "raw" and "val_loss_raw" not in plain.extra
    assert result.extra["scored_weights"] == "ema"
    assert result.extra["val_loss_raw"] == plain.val_loss  # the raw weights, scored as the plain run
    assert result.val_loss != plain.val_loss and evals[-1] == result.val_loss and plain_evals[-1] == plain.val_loss
    assert any(not torch.equal(a, b) for a, b in zip(averaged.model.parameters(), model.parameters(), strict=True))


def test_buffers_reassigned_by_the_model_are_still_copied():
    """The lecture's batchnorm assigns new running-statistics tensors each step."""

    class Reassigns(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(2))
            self.register_buffer("running_mean", torch.zeros(2))

        def step(self):
            self.running_mean = self.running_mean + 1.0  # a new tensor, as layers.BatchNorm1d does

    model = Reassigns()
    average = WeightAverage(model, 0.5)
    for step in range(3):
        model.step()
        average.update(step)
    assert torch.equal(average.model.running_mean, torch.full((2,), 3.0))


def test_a_checkpoint_without_an_average_is_not_resumed_with_one(tmp_path):
    """Checkpoints from before ema_decay existed hold no average and no ema_decay key."""
    from wavenet_harness.base.errors import CheckpointError
    from wavenet_harness.training.averaging import restore

    restore(None, {"model": {}}, tmp_path / "checkpoint.pt")  # no average wanted: nothing to do
    with pytest.raises(CheckpointError, match=r"with ema_decay=0.9: it was trained without weight averaging"):
        restore(WeightAverage(_model(), 0.9), {"model": {}}, tmp_path / "checkpoint.pt")
