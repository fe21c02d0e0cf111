"""The speed-ups of the lecture-exact path keep its arithmetic; the fused step and evaluation agree."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from wavenet_harness.models import build_model
from wavenet_harness.models.fused import FastSequential
from wavenet_harness.training.device import SINGLE_THREAD_WORK, TORCH_DEFAULT_THREADS, auto_threads
from wavenet_harness.training.evaluation import EvalSplit, evaluate
from wavenet_harness.training.optim import ForeachSGD, PlainSGD, is_plain_sgd, unwrapped_step


def _batch(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randint(0, 3, (n, 8), generator=g)  # 3 letters: 6,561 contexts, so many repeat
    Y = torch.randint(0, 27, (n,), generator=g)
    return X, Y


def test_batchnorm_running_stats_applied_together_are_bit_identical():
    torch.manual_seed(0)
    model = build_model("hier", 27, 8, 10, 16, 3)
    reference = copy.deepcopy(model)
    X, _ = _batch()
    model(X)  # Sequential: stats queued, applied at the end in multi-tensor ops
    x = X
    for layer in reference.layers:  # each batchnorm on its own: the lecture's per-layer update
        x = layer(x)
    for a, b in zip(model.buffers(), reference.buffers(), strict=True):
        assert torch.equal(a, b)


def test_plain_sgd_update_is_the_lectures_arithmetic_bit_for_bit():
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(7, 5)) for _ in range(3)]
    expected = []
    for p in params:
        p.grad = torch.randn_like(p)
        expected.append(p.detach() + -0.1 * p.grad)
    optimizer = PlainSGD(params, lr=0.1)
    unwrapped_step(optimizer)()
    assert all(torch.equal(p.detach(), e) for p, e in zip(params, expected, strict=True))


def test_unwrapped_step_keeps_step_when_a_hook_is_registered():
    optimizer = PlainSGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    assert unwrapped_step(optimizer) == optimizer.update
    optimizer.register_step_post_hook(lambda *args: None)
    assert unwrapped_step(optimizer) == optimizer.step
    assert is_plain_sgd(optimizer) and is_plain_sgd(ForeachSGD(optimizer.param_groups, lr=0.1))
    assert not is_plain_sgd(PlainSGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1, momentum=0.9))


def test_evaluate_over_distinct_contexts_equals_the_whole_split_loss():
    torch.manual_seed(0)
    model = build_model("hier", 27, 8, 10, 16, 3)
    X, Y = _batch(5000)
    split = EvalSplit.of(X, Y)
    assert split.inverse is not None and split.contexts.shape[0] < X.shape[0]
    model.eval()
    with torch.no_grad():
        expected = F.cross_entropy(model(X)[0], Y).item()
    model.train()
    assert abs(evaluate(model, X, Y) - expected) < 1e-6
    assert model.training


def test_fused_train_step_gradients_equal_autograd():
    torch.manual_seed(0)
    fast = FastSequential(build_model("hier", 27, 8, 10, 16, 3))
    reference = copy.deepcopy(fast)
    X, Y = _batch()
    fast.train_step(X, Y)  # gradients left in p.grad (the AdamW case)
    _, loss = reference(X, Y)
    loss.backward()
    for p, q in zip(fast.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6)


def test_fused_sgd_step_updates_like_forward_backward_and_sgd():
    torch.manual_seed(0)
    fast = FastSequential(build_model("hier", 27, 8, 10, 16, 3))
    reference = copy.deepcopy(fast)
    X, Y = _batch()
    fast.train_step(X, Y, sgd_lr=0.1)
    _, loss = reference(X, Y)
    loss.backward()
    ForeachSGD(reference.parameters(), lr=0.1).step()
    for p, q in zip(fast.state_dict().values(), reference.state_dict().values(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_auto_threads_is_one_for_small_steps_and_torchs_default_for_big_ones():
    assert auto_threads(76_579, 32) == 1  # the lecture's WaveNet at batch 32
    assert auto_threads(SINGLE_THREAD_WORK, 1) == TORCH_DEFAULT_THREADS
