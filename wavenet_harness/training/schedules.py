"""Learning-rate schedules (config group `schedule`): step, constant, cosine and wsd (each with
a warmup where it has one).

Each is one `Choice` (training/optim.py): its typed options (declared here, with their
defaults), its builder, its rules; `fit_warmup` shortens a preset's warmup when max_steps
shortens the run.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from wavenet_harness.base.errors import ConfigError, positive_float
from wavenet_harness.base.run_config import SHORTENED_WARMUP_SHARE, RunConfig, ScheduleOptions, key
from wavenet_harness.training.optim import Choice, Schedule, choices


def _constant(lr: float, max_steps: int, warmup_steps: int) -> Schedule:
    # A linear warmup, then lr to the end: the lr at step s does not depend on max_steps,
    # so a run stopped at s is the run with max_steps=s (what a multi-fidelity search needs).
    warmup = int(warmup_steps)
    if not warmup:
        return lambda step: lr
    return lambda step: lr * (step + 1) / warmup if step < warmup else lr


def _step(lr: float, max_steps: int, decay_at: float, factor: float) -> Schedule:
    # The lecture: 0.1 for the first 150k of 200k steps, then 0.01.
    decay_step = int(decay_at * max_steps)
    late_lr = lr * factor
    return lambda step: lr if step < decay_step else late_lr


def _cosine(lr: float, max_steps: int, warmup_steps: int, min_lr_ratio: float) -> Schedule:
    warmup = int(warmup_steps)
    min_lr = lr * min_lr_ratio

    def cosine(step: int) -> float:
        if step < warmup:
            return lr * (step + 1) / warmup
        progress = (step - warmup) / max(1, max_steps - warmup)
        return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * min(1.0, progress)))

    return cosine


def _wsd(lr: float, max_steps: int, warmup_steps: int, decay_share: float, min_lr_ratio: float) -> Schedule:
    # Warmup, stable, decay: the constant schedule's run, then a linear cool-down to
    # min_lr_ratio x lr over the last decay_share of the steps. Up to the cool-down it is
    # step for step the constant schedule's run, so a step found by a multi-fidelity
    # search on the constant schedule (hparams_search=*_long) can end in a cool-down.
    constant = _constant(lr, max_steps, warmup_steps)
    decay_start = max_steps - int(round(decay_share * max_steps))
    min_lr = lr * min_lr_ratio

    def wsd(step: int) -> float:
        if step < decay_start:
            return constant(step)
        left = (max_steps - step) / max(1, max_steps - decay_start)  # 1 at the start of the cool-down
        return min_lr + (lr - min_lr) * left

    return wsd


def _check_step(schedule: StepOptions, max_steps: int) -> None:
    if not 0 <= schedule.decay_at <= 1:
        raise ConfigError(f"schedule.decay_at={schedule.decay_at!r} is not allowed: a fraction of max_steps in [0, 1]")
    positive_float("schedule.factor", schedule.factor)


def _check_warmup(schedule: Any, max_steps: int) -> None:
    warmup = schedule.warmup_steps
    if warmup < 0:
        raise ConfigError(f"schedule.warmup_steps={warmup!r} is not allowed: a whole number >= 0")
    if warmup > max_steps:
        raise ConfigError(
            f"schedule.warmup_steps={warmup} is not allowed: more warmup steps than max_steps={max_steps}"
        )


def _check_cosine(schedule: Any, max_steps: int) -> None:
    _check_warmup(schedule, max_steps)
    if not 0 <= schedule.min_lr_ratio <= 1:
        raise ConfigError(f"schedule.min_lr_ratio={schedule.min_lr_ratio!r} is not allowed: a number in [0, 1]")


def _check_wsd(schedule: WSDOptions, max_steps: int) -> None:
    _check_cosine(schedule, max_steps)  # warmup_steps and min_lr_ratio
    share = schedule.decay_share
    if not 0 < share <= 1:
        raise ConfigError(
            f"schedule.decay_share={share!r} is not allowed: the share of max_steps to cool down "
            "over, above 0 and at most 1"
        )
    if schedule.warmup_steps + int(round(share * max_steps)) > max_steps:
        raise ConfigError(
            f"schedule.warmup_steps plus the cool-down (decay_share={share} of max_steps="
            f"{max_steps}) is more than max_steps: shorten one of them"
        )


WARMUP = "linear warmup from 0 to lr over this many steps (0: none)"
MIN_LR_RATIO = "the lr at the end, as a share of lr"


@dataclass(frozen=True)
class StepOptions(ScheduleOptions):
    """schedule=step, the lecture's: lr until decay_at of max_steps (150k of 200k), then lr * factor."""

    name: str = "step"
    decay_at: float = key(0.75, "the share of max_steps after which the lr drops")
    factor: float = key(0.1, "the lr after the drop, as a share of lr")


@dataclass(frozen=True)
class ConstantOptions(ScheduleOptions):
    """schedule=constant: lr to the end after a warmup; a step's lr does not depend on max_steps."""

    name: str = "constant"
    warmup_steps: int = key(0, WARMUP)


@dataclass(frozen=True)
class CosineOptions(ScheduleOptions):
    """schedule=cosine: a warmup, then cosine decay to lr * min_lr_ratio at max_steps."""

    name: str = "cosine"
    warmup_steps: int = key(1000, WARMUP)
    min_lr_ratio: float = key(0.01, MIN_LR_RATIO)


@dataclass(frozen=True)
class WSDOptions(ScheduleOptions):
    """schedule=wsd: warmup, stable, then a linear cool-down over the last decay_share of max_steps."""

    name: str = "wsd"
    warmup_steps: int = key(0, WARMUP)
    decay_share: float = key(0.2, "the share of max_steps the cool-down takes")
    min_lr_ratio: float = key(0.0, MIN_LR_RATIO)


SCHEDULES: dict[str, Choice[ScheduleOptions]] = choices(
    Choice(StepOptions, _step, _check_step),
    Choice(ConstantOptions, _constant, _check_warmup),
    Choice(CosineOptions, _cosine, _check_cosine),
    Choice(WSDOptions, _wsd, _check_wsd),
)
SCHEDULE_HPARAM_COLUMNS: dict[str, Any] = {"warmup_steps": 0}


def build_schedule(name: str, lr: float, max_steps: int, **options) -> Schedule:
    """Return step -> learning rate for steps 0 .. max_steps-1; `options` replace the declared defaults."""
    if name not in SCHEDULES:
        raise ValueError(f"schedule.name={name!r} is not known; choose one of {sorted(SCHEDULES)}")
    return build_configured_schedule(SCHEDULES[name].options(**options), lr, max_steps)


def build_configured_schedule(schedule: ScheduleOptions, lr: float, max_steps: int) -> Schedule:
    return SCHEDULES[schedule.name].build(lr, max_steps, **schedule.values())


def build_run_schedule(config: RunConfig) -> Schedule:
    return build_configured_schedule(config.schedule, config.lr, config.max_steps)


def fit_warmup(schedule: ScheduleOptions, max_steps: int, explicit: bool) -> tuple[ScheduleOptions, str | None]:
    """A preset's warmup scaled to a shortened run, and the line that says so (None: unchanged).

    `explicit`: schedule.warmup_steps was given on the command line; then it is the
    user's choice, kept as is and checked like any value (more than max_steps is refused).
    """
    warmup = getattr(schedule, "warmup_steps", None)
    if explicit or warmup is None:
        return schedule, None
    cap = int(max_steps * SHORTENED_WARMUP_SHARE)
    if warmup <= max(cap, 0) or warmup <= 0:
        return schedule, None
    note = (
        f"schedule.warmup_steps={warmup} scaled to {cap} ({SHORTENED_WARMUP_SHARE:.0%} of max_steps={max_steps}) "
        "for this shortened run; set schedule.warmup_steps to choose"
    )
    # The chosen schedule's own class declares warmup_steps (found above); ScheduleOptions does not.
    return dataclasses.replace(schedule, warmup_steps=cap), note  # type: ignore[call-arg]


def check_schedule(config: RunConfig) -> None:
    """The chosen schedule's values against its rules (keys and types were checked while composing)."""
    SCHEDULES[config.schedule.name].check(config.schedule, config.max_steps)
