"""Optimizers (config group `optim`); learning-rate schedules are training/schedules.py's.

Each optimizer and schedule is one `Choice`: its typed options (a dataclass that declares
each key's type, default and meaning, the one place they are written), how it is built and
the rules of its values. Adding an option means its Choice here and its yaml file in conf/
(which only chooses it); the adapter asks `check_optim` (and schedules.check_schedule),
the job reads the HParams columns from here. Everything here takes typed options or
explicit arguments, never the raw config. This module knows nothing of models beyond
their parameters, of data or of files.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import torch
from torch import nn
from torch.optim import optimizer as torch_optimizer

from wavenet_harness.base.errors import ConfigError, is_fraction, is_number, positive_float
from wavenet_harness.base.run_config import GroupOption, OptimOptions, RunConfig, key

Schedule = Callable[[int], float]


OptionT = TypeVar("OptionT", bound=GroupOption)


@dataclass(frozen=True)
class Choice(Generic[OptionT]):
    """One option of a config group: its typed options, its builder, its value rules."""

    options: type[OptionT]
    # (..., **options.values()): optimizers (model, lr, ...), schedules (lr, max_steps, ...)
    build: Callable[..., Any]
    check: Callable[[Any, int], None]  # (options, max_steps) -> raises ConfigError

    @property
    def name(self) -> str:
        return self.options.name


def choices(*items: Choice[OptionT]) -> dict[str, Choice[OptionT]]:
    """A config group's choices by name."""
    return {choice.name: choice for choice in items}


class PlainSGD(torch.optim.Optimizer):
    """SGD that updates with the lecture's exact arithmetic: `p.data += -lr * p.grad`.

    torch.optim.SGD computes the same update with a fused multiply-add, which rounds
    differently; over 200k steps that is enough to move the final loss in the fourth
    decimal. Momentum and weight decay are available for sweeps; at their defaults (0)
    the step is bit-for-bit the notebook's.
    """

    def __init__(self, params: Iterable, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    def zero_grad(self, set_to_none: bool = True) -> None:
        """A plain loop: torch's generic zero_grad groups tensors by device and dtype on every call."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.zero_()

    @torch.no_grad()
    def step(self, closure=None):
        self.update()

    @torch.no_grad()
    def update(self) -> None:
        """The step's body, without the profiler record and hook checks torch.optim wraps
        around `step` (at the lecture's sizes they cost as much as the update itself).
        The training loop calls it directly when no optimizer hooks are registered."""
        for group in self.param_groups:
            lr, momentum, weight_decay = group["lr"], group["momentum"], group["weight_decay"]
            if not (momentum or weight_decay):
                # `p += -lr * grad` for every parameter in two multi-tensor ops: the same two
                # roundings per element (the product, then the sum), so bit for bit the lecture's.
                params = [p for p in group["params"] if p.grad is not None]
                if params:
                    torch._foreach_add_(params, torch._foreach_mul([p.grad for p in params], -lr))
                continue
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


class ForeachSGD(PlainSGD):
    """PlainSGD with the plain update `p -= lr * grad` done for all parameters in one op.

    One fused multiply-add per element instead of the lecture's two roundings: equal up
    to float rounding, for the fast path only. With momentum or weight decay it falls
    back to PlainSGD's update.
    """

    @torch.no_grad()
    def update(self) -> None:
        groups = self.param_groups
        if any(g["momentum"] or g["weight_decay"] for g in groups):
            return super().update()
        for group in groups:
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                torch._foreach_add_(params, [p.grad for p in params], alpha=-group["lr"])


def is_plain_sgd(optimizer: torch.optim.Optimizer) -> bool:
    """The lecture's update `p -= lr * grad` (PlainSGD or ForeachSGD, no momentum, no decay):
    one a fused training step may apply itself."""
    return isinstance(optimizer, PlainSGD) and not any(
        g["momentum"] or g["weight_decay"] for g in optimizer.param_groups
    )


def unwrapped_step(optimizer: torch.optim.Optimizer) -> Callable[[], Any]:
    """`optimizer.step`, or its body alone (`update`) when that skips no registered hook.

    torch.optim wraps every step in a profiler record and checks for step hooks; at the
    lecture's sizes that wrapper costs as much as the SGD update itself.
    """
    update = getattr(optimizer, "update", None)
    hooks = (
        optimizer._optimizer_step_pre_hooks,
        optimizer._optimizer_step_post_hooks,
        torch_optimizer._global_optimizer_pre_hooks,
        torch_optimizer._global_optimizer_post_hooks,
    )
    return optimizer.step if update is None or any(hooks) else update


def _decay_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on matrices and embeddings only, never on biases or batchnorm gains."""
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    return [dict(params=decay, weight_decay=weight_decay), dict(params=no_decay, weight_decay=0.0)]


def _build_sgd(model: nn.Module, lr: float, momentum: float, weight_decay: float) -> PlainSGD:
    return PlainSGD(_decay_groups(model, weight_decay), lr=lr, momentum=momentum)


def _build_adamw(model: nn.Module, lr: float, betas, eps: float, weight_decay: float) -> torch.optim.AdamW:
    return torch.optim.AdamW(_decay_groups(model, weight_decay), lr=lr, betas=tuple(betas), eps=eps)


WEIGHT_DECAY = "decay of matrices and embeddings (never biases or batchnorm gains)"


@dataclass(frozen=True)
class SGDOptions(OptimOptions):
    """optim=sgd: the lecture's plain SGD; momentum and weight decay 0 keep it exact."""

    name: str = "sgd"
    momentum: float = key(0.0, "momentum (0: the lecture's plain update)")
    weight_decay: float = key(0.0, WEIGHT_DECAY)


@dataclass(frozen=True)
class AdamWOptions(OptimOptions):
    """optim=adamw: torch's AdamW."""

    name: str = "adamw"
    betas: list[float] = key([0.9, 0.999], "the averages' decay rates, two numbers in [0, 1)")
    eps: float = key(1.0e-08, "added to the denominator")
    weight_decay: float = key(0.01, WEIGHT_DECAY)


def _check_decay(optim: Any, max_steps: int) -> None:
    for name in ("momentum", "weight_decay"):
        value = getattr(optim, name, 0.0)
        if not is_number(value) or not (0 <= value < math.inf):
            raise ConfigError(f"optim.{name}={value!r} is not allowed: it must be a finite number >= 0")


def _check_adamw(optim: AdamWOptions, max_steps: int) -> None:
    _check_decay(optim, max_steps)
    betas = optim.betas
    if not (isinstance(betas, (list, tuple)) and len(betas) == 2 and all(is_fraction(b) for b in betas)):
        raise ConfigError(f"optim.betas={list(betas)!r} is not allowed: two numbers in [0, 1), e.g. [0.9,0.999]")
    positive_float("optim.eps", optim.eps)


OPTIMIZERS: dict[str, Choice[OptimOptions]] = choices(
    Choice(SGDOptions, _build_sgd, _check_decay),
    Choice(AdamWOptions, _build_adamw, _check_adamw),
)
# Options only some optimizers have, shown for every job in TensorBoard's HParams tab
# with the value that means "off" where the chosen optimizer lacks them.
OPTIM_HPARAM_COLUMNS: dict[str, Any] = {"momentum": 0.0, "weight_decay": 0.0}


def build_optimizer(name: str, model: nn.Module, lr: float, **options) -> torch.optim.Optimizer:
    """Optimizer `name` over the model's parameters; `options` replace its declared defaults."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optim.name={name!r} is not known; choose one of {sorted(OPTIMIZERS)}")
    return build_configured_optimizer(OPTIMIZERS[name].options(**options), model, lr)


def build_configured_optimizer(optim: OptimOptions, model: nn.Module, lr: float) -> torch.optim.Optimizer:
    return OPTIMIZERS[optim.name].build(model, lr, **optim.values())


def build_run_optimizer(config: RunConfig, model: nn.Module) -> torch.optim.Optimizer:
    """A run's optimizer; on the fast path with one multi-tensor update instead of a loop."""
    optimizer = build_configured_optimizer(config.optim, model, config.lr)
    return speed_up_optimizer(optimizer) if config.fast_path else optimizer


def speed_up_optimizer(optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
    """The same optimizer with one multi-tensor update (fast=true)."""
    if type(optimizer) is PlainSGD:
        fast = ForeachSGD(optimizer.param_groups, lr=optimizer.defaults["lr"])
        fast.load_state_dict(optimizer.state_dict())
        return fast
    if isinstance(optimizer, (torch.optim.Adam, torch.optim.AdamW)):
        for group in optimizer.param_groups:
            group["foreach"] = True
    return optimizer


def check_optim(config: RunConfig) -> None:
    """The chosen optimizer's values against its rules (keys and types were checked while composing)."""
    OPTIMIZERS[config.optim.name].check(config.optim, config.max_steps)
