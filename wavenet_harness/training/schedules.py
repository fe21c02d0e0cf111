"""Learning-rate schedules (config group `schedule`): step, constant, cosine and wsd (each with
a warmup where it has one).

Each is one `Choice` (training/optim.py): its options and defaults, its builder, its
rules; `fit_warmup` shortens a preset's warmup when max_steps shortens the run.
"""

from __future__ import annotations

import math
from typing import Any

from wavenet_harness.base.errors import ConfigError, is_int, is_number, one_of, positive_float
from wavenet_harness.training.optim import Choice, Schedule


def _constant(lr: float, max_steps: int, warmup_steps: int = 0) -> Schedule:
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


def _check_step(schedule: dict[str, Any], cfg: dict[str, Any]) -> None:
    decay_at = schedule.get("decay_at")
    if not is_number(decay_at) or not 0 <= decay_at <= 1:
        raise ConfigError(f"schedule.decay_at={decay_at!r} is not allowed: a fraction of max_steps in [0, 1]")
    positive_float("schedule.factor", schedule.get("factor"))


def _check_warmup(schedule: dict[str, Any], cfg: dict[str, Any]) -> None:
    warmup = schedule.get("warmup_steps", 0)
    if not is_int(warmup) or warmup < 0:
        raise ConfigError(f"schedule.warmup_steps={warmup!r} is not allowed: a whole number >= 0")
    if warmup > cfg["max_steps"]:
        raise ConfigError(
            f"schedule.warmup_steps={warmup} is not allowed: more warmup steps than max_steps={cfg['max_steps']}"
        )


def _check_cosine(schedule: dict[str, Any], cfg: dict[str, Any]) -> None:
    _check_warmup(schedule, cfg)
    ratio = schedule.get("min_lr_ratio")
    if not is_number(ratio) or not 0 <= ratio <= 1:
        raise ConfigError(f"schedule.min_lr_ratio={ratio!r} is not allowed: a number in [0, 1]")


def _check_wsd(schedule: dict[str, Any], cfg: dict[str, Any]) -> None:
    _check_cosine(schedule, cfg)  # warmup_steps and min_lr_ratio
    share = schedule.get("decay_share")
    if not is_number(share) or not 0 < share <= 1:
        raise ConfigError(f"schedule.decay_share={share!r} is not allowed: the share of max_steps to cool down "
                          "over, above 0 and at most 1")
    if schedule.get("warmup_steps", 0) + int(round(share * cfg["max_steps"])) > cfg["max_steps"]:
        raise ConfigError(f"schedule.warmup_steps plus the cool-down (decay_share={share} of max_steps="
                          f"{cfg['max_steps']}) is more than max_steps: shorten one of them")


SCHEDULES: dict[str, Choice] = {
    "step": Choice({"decay_at": 0.75, "factor": 0.1}, _step, _check_step),
    "constant": Choice({"warmup_steps": 0}, _constant, _check_warmup),
    "cosine": Choice({"warmup_steps": 0, "min_lr_ratio": 0.0}, _cosine, _check_cosine),
    "wsd": Choice({"warmup_steps": 0, "decay_share": 0.2, "min_lr_ratio": 0.0}, _wsd, _check_wsd),
}
SCHEDULE_HPARAM_COLUMNS: dict[str, Any] = {"warmup_steps": 0}


def build_schedule(name: str, lr: float, max_steps: int, **options) -> Schedule:
    """Return step -> learning rate for steps 0 .. max_steps-1."""
    if name not in SCHEDULES:
        raise ValueError(f"schedule.name={name!r} is not known; choose one of {sorted(SCHEDULES)}")
    choice = SCHEDULES[name]
    return choice.build(lr, max_steps, **{key: options.get(key, default) for key, default in choice.options.items()})


def schedule_from_config(cfg: dict[str, Any]) -> Schedule:
    options = {k: v for k, v in cfg["schedule"].items() if k != "name"}
    return build_schedule(cfg["schedule"]["name"], cfg["lr"], cfg["max_steps"], **options)


# A warmup a preset chose for its own length, kept for a run shortened with max_steps,
# would take the whole run: it is cut to this share of max_steps instead.
SHORTENED_WARMUP_SHARE = 0.1


def fit_warmup(cfg: dict[str, Any], explicit: bool) -> str | None:
    """Scale a preset's warmup to a shortened run, in place; return the line that says so.

    `explicit`: schedule.warmup_steps was given on the command line; then it is the
    user's choice, kept as is and checked like any value (more than max_steps is refused).
    """
    schedule = cfg["schedule"]
    warmup = schedule.get("warmup_steps")
    if explicit or not is_int(warmup) or not is_int(cfg.get("max_steps")):
        return None
    cap = int(cfg["max_steps"] * SHORTENED_WARMUP_SHARE)
    if warmup <= max(cap, 0) or warmup <= 0:
        return None
    schedule["warmup_steps"] = cap
    return (f"schedule.warmup_steps={warmup} scaled to {cap} ({SHORTENED_WARMUP_SHARE:.0%} of max_steps={cfg['max_steps']}) "
            "for this shortened run; set schedule.warmup_steps to choose")


def check_schedule(cfg: dict[str, Any]) -> None:
    schedule = cfg["schedule"]
    one_of("schedule", schedule.get("name"), tuple(SCHEDULES))
    SCHEDULES[schedule["name"]].check(schedule, cfg)
