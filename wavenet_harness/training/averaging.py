"""Weight averaging (`ema_decay`): an exponential moving average of the weights, scored in
place of the raw ones.

After every optimizer step the average moves towards the weights, as timm's ModelEmaV2:

    ema = d * ema + (1 - d) * w,   d = min(ema_decay, (1 + t) / (10 + t)) after t steps

The decay is warmed up as TensorFlow's ExponentialMovingAverage(num_updates) does, so the
average forgets the random initial weights within the first steps instead of over
1 / (1 - ema_decay) of them: at any step it is an estimate of the weights a run would
settle on there, which is what lets a multi-fidelity pruner compare trials at equal
steps. Buffers (batchnorm's running statistics) are copied, not averaged. The step count
is the training step, so a resumed run continues the same decays bit for bit.

With `ema_decay=0` (the default) nothing here is built and a run is unchanged. The loop
calls `update(step)` after each step and evaluates `.model`; the job saves `state_dict()`
in the checkpoint under CHECKPOINT_KEY; sampling and evaluation load `scored_weights(state)`.
This module knows nothing of configs beyond `ema_decay`, of files or of the loop.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
from torch import nn

from wavenet_harness.base.errors import CheckpointError, ConfigError, is_number

CHECKPOINT_KEY = "ema"  # the averaged model's state_dict in a checkpoint, beside "model"


class WeightAverage:
    """An averaged copy of `source` (`.model`), moved towards it by `update(step)`."""

    def __init__(self, source: nn.Module, decay: float):
        self.decay = float(decay)
        self.source = source
        self.model = copy.deepcopy(source)  # no random draws: the run's generators are untouched
        self.model.requires_grad_(False)
        self._pair_tensors()

    def _pair_tensors(self) -> None:
        """(averaged, source) parameters, collected again whenever the models move. Buffers
        are looked up at each update: the lecture's batchnorm assigns new running-statistics
        tensors every step instead of updating them in place."""
        self._averaged: list[torch.Tensor] = list(self.model.parameters())
        self._weights: list[torch.Tensor] = list(self.source.parameters())

    def decay_at(self, step: int) -> float:
        """The decay of the update after training step `step` (0 for the first)."""
        return min(self.decay, (1 + step) / (10 + step))

    @torch.no_grad()
    def update(self, step: int) -> None:
        d = self.decay_at(step)
        torch._foreach_mul_(self._averaged, d)
        torch._foreach_add_(self._averaged, self._weights, alpha=1 - d)
        for averaged, buffer in zip(self.model.buffers(), self.source.buffers(), strict=True):
            averaged.copy_(buffer)

    def to(self, device: torch.device) -> WeightAverage:
        self.model.to(device)
        self._pair_tensors()
        return self

    def state_dict(self) -> dict[str, Any]:
        return self.model.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state)


def check_ema_decay(value: Any) -> None:
    if not is_number(value) or not 0 <= value < 1:
        raise ConfigError(
            f"ema_decay={value!r} is not allowed: a number in [0, 1), e.g. 0.999 (0 turns weight averaging off)"
        )


def weight_average(ema_decay: float, model: nn.Module) -> WeightAverage | None:
    """An average of `model`'s weights with this decay; None with ema_decay=0 (off)."""
    return WeightAverage(model, ema_decay) if ema_decay else None


def checkpoint_entry(average: WeightAverage | None) -> dict[str, Any]:
    """What a checkpoint holds of the average: nothing when there is none."""
    return {CHECKPOINT_KEY: average.state_dict()} if average is not None else {}


def restore(average: WeightAverage | None, state: dict[str, Any], source: Path) -> None:
    """Load a checkpoint's average into a resumed run's (a run without one ignores it)."""
    if average is None:
        return
    if CHECKPOINT_KEY not in state:
        raise CheckpointError(
            f"cannot resume from {source} with ema_decay={average.decay:g}: it was trained without weight averaging; "
            "resume with ema_decay=0 or start a new run"
        )
    average.load_state_dict(state[CHECKPOINT_KEY])


def scored_weights(state: dict[str, Any]) -> dict[str, Any]:
    """The weights a run was scored with: the average when it kept one, else the raw ones."""
    return state.get(CHECKPOINT_KEY) or state["model"]
