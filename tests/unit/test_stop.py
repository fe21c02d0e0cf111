"""Stop means stop: a stop signal that arrives during an evaluation or during sampling
ends the run within one chunk (or one sampled character), saved, as "interrupted".

No timing: the model itself sends SIGTERM to this process from inside an evaluation
(or from inside sampling), and the tests count how many more forward passes ran.
"""

from __future__ import annotations

import os
import signal

import pytest
import torch

from helpers import TINY_WORDS
from wavenet_harness.base.data import build_dataset
from wavenet_harness.base.errors import ConfigError
from wavenet_harness.base.run_config import LogOptions
from wavenet_harness.models import build_model
from wavenet_harness.tracking.tensorboard import check_log, tensorboard_sampler
from wavenet_harness.training import evaluation, loop
from wavenet_harness.training.schedules import build_schedule


class SignalsOnce(torch.nn.Module):
    """A model that sends SIGTERM to its own process at its first eval-mode forward pass
    that `when(inputs)` picks, and counts the eval-mode passes that follow."""

    def __init__(self, model: torch.nn.Module, when=lambda x: True):
        super().__init__()
        self.model, self.block_size, self.when = model, model.block_size, when
        self.passes_after_signal: int | None = None  # None: not sent yet

    def forward(self, x, *rest):
        if not self.training:
            if self.passes_after_signal is not None:
                self.passes_after_signal += 1
            elif self.when(x):
                os.kill(os.getpid(), signal.SIGTERM)  # the loop's handler only sets its flag
                self.passes_after_signal = 0
        return self.model(x, *rest)


@pytest.fixture
def data(monkeypatch):
    monkeypatch.setattr(evaluation, "EVAL_CHUNK", 16)  # many chunks from a tiny split
    dataset = build_dataset(TINY_WORDS * 30, 3)
    assert loop.EvalSplit.of(dataset.val.X, dataset.val.Y).contexts.shape[0] > 3 * 16
    return dataset


def _train(model, data, max_steps, eval_interval, sampler=None):
    saved = []

    class Sampler:  # what the TensorBoard tracker does at each evaluation
        def on_train_loss(self, step, loss, lr):
            pass

        def on_metrics(self, step, metrics):
            if sampler is not None:
                sampler(step)

    settings = loop.TrainSettings(max_steps=max_steps, batch_size=8, eval_interval=eval_interval)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    result = loop.train(
        model,
        optimizer,
        build_schedule("step", 0.1, max_steps),
        (data.train.X, data.train.Y),
        (data.val.X, data.val.Y),
        settings,
        listeners=[Sampler()],
        save_checkpoint=saved.append,
    )
    return result, saved


def _model(vocab_size, **signal):
    torch.manual_seed(0)
    return SignalsOnce(build_model("mlp", vocab_size, 3, 4, 8, 2), **signal)


def test_a_stop_during_an_evaluation_mid_run_ends_it_after_that_chunk_saved_at_its_step(data):
    model = _model(data.vocab.size)
    result, saved = _train(model, data, max_steps=40, eval_interval=20)
    assert result.status == "interrupted" and result.extra["signal"] == "SIGTERM"
    assert result.steps == 20 and saved == [20]
    assert model.passes_after_signal == 0
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the loop's handler is gone again


def test_a_stop_during_the_final_scoring_keeps_the_final_checkpoint(data):
    model = _model(data.vocab.size)
    result, saved = _train(model, data, max_steps=20, eval_interval=0)
    assert result.status == "interrupted" and "while scoring step 20" in result.error
    assert saved == [20] and result.val_loss is None
    assert model.passes_after_signal == 0


def test_a_stop_during_sampling_ends_it_after_one_character(data):
    model = _model(data.vocab.size, when=lambda x: x.shape[0] == 1)  # sampling runs one context at a time
    sampler = tensorboard_sampler(model, data.vocab, data.train.words, 500, seed=1)
    result, saved = _train(model, data, max_steps=40, eval_interval=20, sampler=sampler)
    assert result.status == "interrupted" and result.steps == 20 and saved == [20]
    assert model.passes_after_signal == 0


def test_absurd_sample_counts_are_refused_up_front():
    check_log(LogOptions(samples=1000))
    with pytest.raises(ConfigError, match="log.samples=100000000 is not allowed: at most 1000 names"):
        check_log(LogOptions(samples=100_000_000))
