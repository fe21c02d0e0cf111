"""Optimizers (config group `optim`) and learning-rate schedules (config group `schedule`)."""

from __future__ import annotations

import math
from typing import Callable, Iterable

import torch
from torch import nn


class PlainSGD(torch.optim.Optimizer):
    """SGD that updates with the lecture's exact arithmetic: `p.data += -lr * p.grad`.

    torch.optim.SGD computes the same update with a fused multiply-add, which rounds
    differently; over 200k steps that is enough to move the final loss in the fourth
    decimal. Momentum and weight decay are available for sweeps; at their defaults (0)
    the step is bit-for-bit the notebook's.
    """

    def __init__(self, params: Iterable, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            lr, momentum, weight_decay = group["lr"], group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if weight_decay:
                    grad = grad + weight_decay * p
                if momentum:
                    buf = self.state[p].get("momentum_buffer")
                    if buf is None:
                        buf = self.state[p]["momentum_buffer"] = grad.clone()
                    else:
                        buf.mul_(momentum).add_(grad)
                    grad = buf
                p += -lr * grad


def _decay_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on matrices and embeddings only, never on biases or batchnorm gains."""
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    return [dict(params=decay, weight_decay=weight_decay), dict(params=no_decay, weight_decay=0.0)]


def build_optimizer(name: str, model: nn.Module, lr: float, **options) -> torch.optim.Optimizer:
    if name == "sgd":
        return PlainSGD(
            _decay_groups(model, options.get("weight_decay", 0.0)), lr=lr, momentum=options.get("momentum", 0.0)
        )
    if name == "adamw":
        return torch.optim.AdamW(
            _decay_groups(model, options.get("weight_decay", 0.01)),
            lr=lr,
            betas=tuple(options.get("betas", (0.9, 0.999))),
            eps=options.get("eps", 1e-8),
        )
    raise ValueError(f"optim.name={name!r} is not known; choose one of ['adamw', 'sgd']")


Schedule = Callable[[int], float]


def build_schedule(name: str, lr: float, max_steps: int, **options) -> Schedule:
    """Return step -> learning rate for steps 0 .. max_steps-1."""
    if name == "constant":
        return lambda step: lr
    if name == "step":
        # The lecture: 0.1 for the first 150k of 200k steps, then 0.01.
        decay_at = int(options.get("decay_at", 0.75) * max_steps)
        factor = options.get("factor", 0.1)
        late_lr = lr * factor
        return lambda step: lr if step < decay_at else late_lr
    if name == "cosine":
        warmup = int(options.get("warmup_steps", 0))
        min_lr = lr * options.get("min_lr_ratio", 0.0)

        def cosine(step: int) -> float:
            if step < warmup:
                return lr * (step + 1) / warmup
            progress = (step - warmup) / max(1, max_steps - warmup)
            return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * min(1.0, progress)))

        return cosine
    raise ValueError(f"schedule.name={name!r} is not known; choose one of ['constant', 'cosine', 'step']")
