"""The fast path (fast=true, compile=true) against the lecture-exact path."""

from __future__ import annotations

import pytest
import torch

from helpers import run_config
from wavenet_harness.base.data import build_dataset, read_words
from wavenet_harness.base.errors import ConfigError
from wavenet_harness.models import build_model
from wavenet_harness.models.fused import FastSequential
from wavenet_harness.models.speed import speed_up_model, wrap_amp
from wavenet_harness.training.loop import TrainSettings, train
from wavenet_harness.training.optim import ForeachSGD, PlainSGD
from wavenet_harness.training.schedules import build_schedule


class LossLog:
    def __init__(self):
        self.losses: list[float] = []

    def on_train_loss(self, step, loss, lr):
        self.losses.append(loss)

    def on_metrics(self, step, metrics):
        pass


def _train(model, optimizer_cls, data, steps, batch_size=32, seed=7):
    optimizer = optimizer_cls(model.parameters(), lr=0.1)
    log = LossLog()
    torch.manual_seed(seed)
    settings = TrainSettings(max_steps=steps, batch_size=batch_size)
    # 20k windows of each split: the end-of-run evaluation over all 182k would dominate.
    result = train(
        model,
        optimizer,
        build_schedule("step", 0.1, steps),
        (data.train.X[:20000], data.train.Y[:20000]),
        (data.val.X[:20000], data.val.Y[:20000]),
        settings,
        listeners=[log],
    )
    return result, log.losses


@pytest.fixture(scope="module")
def names_data(names_path):
    torch.set_num_threads(1)
    return build_dataset(read_words(names_path), 8)


@pytest.mark.parametrize(
    "build",
    [
        lambda: build_model("hier", 27, 8, 10, 32, 3),
        lambda: build_model("mlp", 27, 8, 10, 32, 2),
    ],
    ids=["hier", "mlp"],
)
def test_fast_path_agrees_with_lecture_exact_path_over_300_steps(names_data, build):
    torch.manual_seed(42)
    exact = build()
    torch.manual_seed(42)
    fast = FastSequential(build())
    exact_result, exact_losses = _train(exact, PlainSGD, names_data, 300)
    fast_result, fast_losses = _train(fast, ForeachSGD, names_data, 300)

    assert len(exact_losses) == len(fast_losses) == 300
    assert max(abs(a - b) for a, b in zip(exact_losses, fast_losses, strict=True)) < 1e-3
    assert fast_result.val_loss == pytest.approx(exact_result.val_loss, abs=1e-4)
    exact_state, fast_state = exact.state_dict(), fast.state_dict()
    assert list(exact_state) == list(fast_state)  # same keys: checkpoints move between paths
    for key in exact_state:
        torch.testing.assert_close(fast_state[key], exact_state[key], rtol=1e-3, atol=1e-4)


def test_fast_model_has_the_lecture_models_parameters_and_eval_outputs(names_data):
    torch.manual_seed(42)
    exact = build_model("hier", 27, 8, 24, 128, 3)
    torch.manual_seed(42)
    fast = FastSequential(build_model("hier", 27, 8, 24, 128, 3))
    for (name_a, a), (name_b, b) in zip(exact.state_dict().items(), fast.state_dict().items(), strict=True):
        assert name_a == name_b and torch.equal(a, b)
    X = names_data.val.X[:500]
    exact.train()
    exact(names_data.train.X[:64])  # move the running stats off their init
    fast.load_state_dict(exact.state_dict())
    exact.eval(), fast.eval()
    with torch.no_grad():
        torch.testing.assert_close(fast(X)[0], exact(X)[0], rtol=1e-5, atol=1e-5)


def test_fused_gradients_match_autograd_on_the_lecture_layers():
    torch.manual_seed(0)
    exact = build_model("hier", 11, 8, 6, 16, 3)
    torch.manual_seed(0)
    fast = FastSequential(build_model("hier", 11, 8, 6, 16, 3))
    idx = torch.randint(0, 11, (20, 8))
    target = torch.randint(0, 11, (20,))
    for model in (exact, fast):
        model(idx, target)[1].backward()
    for p_exact, p_fast in zip(exact.parameters(), fast.parameters(), strict=True):
        torch.testing.assert_close(p_fast.grad, p_exact.grad, rtol=1e-4, atol=1e-6)
    for n_exact, n_fast in zip(exact.state_dict().values(), fast.state_dict().values(), strict=True):
        torch.testing.assert_close(n_fast, n_exact, rtol=1e-5, atol=1e-6)  # running stats too


def test_foreach_sgd_takes_the_plain_sgd_step():
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(5, 3)), torch.nn.Parameter(torch.randn(3))]
    copies = [torch.nn.Parameter(p.detach().clone()) for p in params]
    for ps in (params, copies):
        for p in ps:
            p.grad = torch.ones_like(p) * 0.5
    PlainSGD(params, lr=0.1).step()
    ForeachSGD(copies, lr=0.1).step()
    for a, b in zip(params, copies, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-7)


def test_fast_path_refuses_what_it_cannot_run():
    with pytest.raises(ConfigError, match="batchnorm_bug"):
        FastSequential(build_model("hier", 27, 8, 10, 16, 3, batchnorm_bug=True))
    with pytest.raises(ConfigError, match="model=conv"):
        speed_up_model(build_model("conv", 27, 8, 10, 16, 3), run_config("model=conv", "fast=true"))
    with pytest.raises(ConfigError, match="amp"):
        wrap_amp(FastSequential(build_model("hier", 27, 8, 10, 16, 3)), "bf16", torch.device("cpu"))
    plain = build_model("hier", 27, 8, 10, 16, 3)
    assert speed_up_model(plain, run_config()) is plain  # default: untouched


@pytest.mark.slow
def test_compiled_fast_path_agrees_and_reports_compile_time(names_data):
    torch.manual_seed(42)
    eager = FastSequential(build_model("hier", 27, 8, 10, 32, 3))
    torch.manual_seed(42)
    compiled = FastSequential(build_model("hier", 27, 8, 10, 32, 3), compile=True)
    _, eager_losses = _train(eager, ForeachSGD, names_data, 100)
    _, compiled_losses = _train(compiled, ForeachSGD, names_data, 100)
    assert max(abs(a - b) for a, b in zip(eager_losses, compiled_losses, strict=True)) < 1e-3
    assert compiled.compile_seconds > 0
