"""The fast path (`fast=true`, `compile=true`): the same hier/mlp model in fewer, fused ops.

At the lecture's sizes (batch 32, 76k parameters) a training step is a few MFLOP, so the
time goes to dispatching ~150 small tensor ops and walking the autograd graph, not to
arithmetic. This module computes the same math with far fewer ops:

- `FastSequential` keeps the lecture model's layers and parameters (same init, same
  random draws, same state_dict keys, so checkpoints move between the two paths) and
  replaces its forward in training mode by one autograd Function whose backward is
  written out by hand: per level one matmul, torch's native batchnorm op (rescaled to
  the lecture's unbiased-variance batchnorm, see below) and a tanh, and their gradients
  (native batchnorm backward, tanh backward, two matmuls).
- The parameter list and the level layout are worked out once, not per step.
- `FastSequential.train_step` runs a whole step without building an autograd graph
  (forward, cross-entropy, backward) and, with the lecture's plain SGD, applies the
  update too; the training loop calls it when nothing needs to look inside the step.
  Otherwise the optimizer's side (one multi-tensor update) is training/optim.py's ForeachSGD.
- `compile=true` hands the hand-written forward and backward (pure tensor functions,
  no autograd inside) to torch.compile, which fuses the pointwise work into a few
  kernels; the time spent compiling is measured and reported as `compile_seconds`.

Results equal the lecture-exact path up to float rounding (division vs rsqrt, lerp for
the running statistics, fused adds); the lecture-exact path itself is untouched.

The options themselves (their rules, applying them to a built model, amp's autocast) are
models/speed.py's; the kernels are models/fused_kernels.py's. This module knows nothing of
training or files.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from wavenet_harness.base.errors import ConfigError
from wavenet_harness.models.fused_kernels import fused_backward, fused_forward, fused_loss_and_grads, fused_sgd_step
from wavenet_harness.models.layers import (
    BatchNorm1d,
    Embedding,
    FlattenConsecutive,
    Linear,
    Sequential,
    Tanh,
    next_char_loss,
)

BATCHNORM_BUG_ON_FAST = "fast=true cannot run model.batchnorm_bug=true; use fast=false for that row"


def _level_layout(layers: nn.ModuleList) -> tuple[Embedding, list[tuple[int, Linear, BatchNorm1d]], Linear]:
    """Read [Embedding, (Flatten(g)?, Linear, BatchNorm1d, Tanh)*, Linear] into levels.

    Each level is (group, linear, batchnorm): `group` neighbouring positions are
    concatenated before the linear (1 where the lecture has no FlattenConsecutive).
    """
    modules = list(layers)
    if not modules or not isinstance(modules[0], Embedding) or not isinstance(modules[-1], Linear):
        raise ConfigError("fast=true supports the hier and mlp models only")
    levels, group, i = [], 1, 1
    while i < len(modules) - 1:
        layer = modules[i]
        if isinstance(layer, FlattenConsecutive):
            group, i = layer.n, i + 1
            continue
        block = modules[i : i + 3]
        if not (
            len(block) == 3
            and isinstance(block[0], Linear)
            and block[0].bias is None
            and isinstance(block[1], BatchNorm1d)
            and isinstance(block[2], Tanh)
        ):
            raise ConfigError("fast=true supports the hier and mlp models only")
        if block[1].lecture_bug:
            raise ConfigError(BATCHNORM_BUG_ON_FAST)
        levels.append((group, block[0], block[1]))
        group, i = 1, i + 3
    return modules[0], levels, modules[-1]


class _FusedStep(torch.autograd.Function):
    """One autograd node for the whole model: forward and backward from models/fused_kernels.py."""

    @staticmethod
    def forward(ctx, model: FastSequential, idx: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
        emb, weights, gammas, betas, w_out, b_out = model._unpack(params)
        norms = model.norms
        logits, saved = model._forward_kernel(
            idx,
            emb,
            weights,
            gammas,
            betas,
            [m.running_mean for m in norms],
            [m.running_var for m in norms],
            w_out,
            b_out,
            model.groups,
            model.eps,
            model.momentum,
        )
        ctx.model, ctx.idx, ctx.params, ctx.saved = model, idx, (emb, weights, w_out), saved
        return logits

    @staticmethod
    def backward(ctx, dlogits: torch.Tensor):
        emb, weights, w_out = ctx.params
        d_emb, d_w, d_g, d_b, d_w_out, d_b_out = ctx.model._backward_kernel(
            dlogits.contiguous(), ctx.idx, emb, weights, w_out, ctx.saved, ctx.model.eps
        )
        grads = [d_emb]
        for triple in zip(d_w, d_g, d_b, strict=True):
            grads.extend(triple)
        ctx.saved = ctx.params = None
        return (None, None, *grads, d_w_out, d_b_out)


class FastSequential(Sequential):
    """The lecture's hier/mlp model with a fused training step (same layers and state_dict)."""

    def __init__(self, model: Sequential, compile: bool = False):
        super().__init__(list(model.layers), model.block_size, model.vocab_size)
        _, levels, _ = _level_layout(self.layers)
        self.groups = tuple(group for group, _, _ in levels)
        self.linears = [linear for _, linear, _ in levels]
        self.norms = [norm for _, _, norm in levels]
        momenta = {norm.momentum for norm in self.norms}
        epsilons = {norm.eps for norm in self.norms}
        if len(momenta) != 1 or len(epsilons) != 1:
            raise ConfigError("fast=true needs one batchnorm momentum and eps for all levels")
        self.momentum, self.eps = momenta.pop(), epsilons.pop()
        # The parameter list in autograd order, built once (the Parameters stay the same
        # objects through .to(), load_state_dict and optimizer steps).
        self._params = [self.embedding.weight]
        for linear, norm in zip(self.linears, self.norms, strict=True):
            self._params += [linear.weight, norm.gamma, norm.beta]
        output_bias = self.output.bias
        assert output_bias is not None  # _level_layout's last Linear: the output layer, built with its bias
        self._params += [self.output.weight, output_bias]
        self.compiled = compile
        self.compile_seconds = 0.0
        self._lr = torch.zeros((), dtype=self.embedding.weight.dtype)  # the SGD step's lr, as a tensor
        kernels = (fused_forward, fused_backward, fused_loss_and_grads, fused_sgd_step)
        if compile:  # each kernel compiles on its first call, so only the ones a run uses cost time
            kernels = tuple(self._timed_first_call(torch.compile(k, dynamic=False, fullgraph=True)) for k in kernels)
        self._forward_kernel, self._backward_kernel, self._grads_kernel, self._sgd_kernel = kernels

    @torch.no_grad()
    def train_step(self, idx: torch.Tensor, targets: torch.Tensor, sgd_lr: float | None = None) -> torch.Tensor:
        """One training step with no autograd graph at all; returns the mean loss.

        With `sgd_lr` the plain SGD update `p -= lr * grad` is applied here too (with
        compile=true inside the same compiled graph); without it the gradients are left
        in p.grad for the optimizer (AdamW). The training loop uses this in place of
        forward + backward when no listener needs to see inside the step.
        """
        running_means = [m.running_mean for m in self.norms]
        running_vars = [m.running_var for m in self.norms]
        if sgd_lr is not None:
            if self._lr.device != idx.device:
                self._lr = self._lr.to(idx.device)
            self._lr.fill_(sgd_lr)
            return self._sgd_kernel(
                self._lr, self._params, idx, targets, running_means, running_vars, self.groups, self.eps, self.momentum
            )
        emb, weights, gammas, betas, w_out, b_out = self._unpack(self._params)
        loss, grads = self._grads_kernel(
            idx,
            targets,
            emb,
            weights,
            gammas,
            betas,
            running_means,
            running_vars,
            w_out,
            b_out,
            self.groups,
            self.eps,
            self.momentum,
        )
        for p, g in zip(self._params, grads, strict=True):
            p.grad = g
        return loss

    def _timed_first_call(self, fn):
        """Wrap a compiled function so its first call (the compile) is added to compile_seconds."""
        state = {"first": True}

        def call(*args):
            if not state["first"]:
                return fn(*args)
            started = time.perf_counter()
            try:
                out = fn(*args)
            except Exception as err:  # the compile itself failed: a broken compiler or toolchain
                lines = [line.strip() for line in str(err).splitlines() if line.strip()]
                detail = (lines[0] if lines else type(err).__name__)[:200]
                raise ConfigError(
                    f"torch.compile failed at the first step ({detail}); use fast=true "
                    "without compile=true, or fix the compiler"
                ) from None
            self.compile_seconds += time.perf_counter() - started
            state["first"] = False
            return out

        return call

    def _unpack(self, params):
        n = len(self.linears)
        return (
            params[0],
            params[1 : 3 * n + 1 : 3],
            params[2 : 3 * n + 1 : 3],
            params[3 : 3 * n + 1 : 3],
            params[-2],
            params[-1],
        )

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        logits = _FusedStep.apply(self, idx, *self._params) if self.training else self._eval_forward(idx)
        return logits, next_char_loss(logits, targets)

    def _eval_forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Inference with the running statistics (eager: evaluation is rare and shapes vary)."""
        B, T = idx.shape
        C = self.embedding.weight.shape[1]
        x = self.embedding.weight[idx].reshape(B * T // self.groups[0], self.groups[0] * C)
        for level, (linear, norm) in enumerate(zip(self.linears, self.norms, strict=True)):
            z = x @ linear.weight
            xhat = (z - norm.running_mean) * (norm.running_var + norm.eps).rsqrt()
            out = torch.tanh(torch.addcmul(norm.beta, norm.gamma, xhat))
            nxt = self.groups[level + 1] if level + 1 < len(self.groups) else 1
            x = out.reshape(-1, nxt * out.shape[1])
        output_bias = self.output.bias
        assert output_bias is not None  # the output layer is built with its bias
        return torch.addmm(output_bias, x, self.output.weight)
