"""From a search's trial to an experiment preset: `wavenet-study SWEEP --export NAME`.

A preset (conf/experiment/NAME.yaml, or DIR/experiment/NAME.yaml for `wavenet-train
--config-dir DIR`) is the chosen trial's config as it ran, written as the keys where it
differs from the default config with the same model, optim and schedule, and max_steps
set to the chosen step:
  - default: the best finished trial, at its last step;
  - --trial T: that trial, finished; --step S: the val it reported at step S (any trial
    that reached S, or T's); --any-step: the best val at any evaluation (T's, or the
    study's best), as `wavenet-study --any-step` ranks them.
For a schedule whose lr does not depend on max_steps (constant: the `_long` searches), a
run of S steps is the trial's first S steps, so the preset ends where the trial stood at S.
Left to the defaults: what says how a run is watched or kept, not what it trains (log.*,
checkpoint_interval), and the sweeper's link to its trial (optuna, resume).

It knows Optuna's trials and plain dicts; composing configs is the caller's (the adapter's).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from wavenet_harness.base.errors import UsageError

# Keys of a trial's config that a recipe leaves out (see the module's docstring).
LEFT_OUT = ("optuna", "resume", "log", "checkpoint_interval")
GROUPS_OF_THEIR_OWN = ("experiment", "hparams_search")  # their keys are in the config already
GROUP_ORDER = ("model", "optim", "schedule")  # as the shipped presets list them
PRESET_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
FINISHED = ("COMPLETE", "PRUNED")


@dataclass
class Choice:
    trial: Any  # optuna's FrozenTrial
    step: int | None  # None: the trial's own max_steps (its last step)
    val_loss: float


def best_at_any_step(trials: list[Any], top: int) -> list[dict[str, Any]]:
    """Finished and pruned trials ranked by their lowest reported val loss, with its step
    (the earliest, on a tie)."""
    rows = []
    for t in trials:
        if t.state.name in FINISHED and t.intermediate_values:
            step, value = min(t.intermediate_values.items(), key=lambda item: (item[1], item[0]))
            rows.append(
                {"trial": t.number, "val_loss": value, "step": step, "state": t.state.name.lower(), "params": t.params}
            )
    return sorted(rows, key=lambda row: (row["val_loss"], row["trial"]))[:top]


def choose(trials: list[Any], number: int | None = None, step: int | None = None, any_step: bool = False) -> Choice:
    """The trial and step a recipe is made of (see the module's docstring); one line if there is none."""
    pool = [t for t in trials if t.state.name in FINISHED]
    if number is not None:
        pool = [t for t in trials if t.number == number]
        if not pool:
            raise UsageError(f"--trial {number}: the study has no trial {number} (it holds 0-{len(trials) - 1})")
    if step is not None:
        reached = [t for t in pool if step in t.intermediate_values]
        if not reached and number is None:
            raise UsageError(f"--step {step}: no finished or pruned trial reported a val loss at step {step}")
        if not reached:
            steps = ", ".join(map(str, sorted(pool[0].intermediate_values))) or "none"
            raise UsageError(
                f"--step {step}: trial {number} reported no val loss at step {step}; its evaluations: {steps}"
            )
        best = min(reached, key=lambda t: (t.intermediate_values[step], t.number))
        return Choice(best, step, best.intermediate_values[step])
    if any_step:
        ranked = best_at_any_step(pool, 1)
        if not ranked:
            raise UsageError("--any-step: no finished or pruned trial has reported a val loss yet")
        best = next(t for t in pool if t.number == ranked[0]["trial"])
        return Choice(best, ranked[0]["step"], ranked[0]["val_loss"])
    done = [t for t in pool if t.state.name == "COMPLETE" and t.value is not None]
    if not done:
        what = (
            f"trial {number} did not finish ({pool[0].state.name.lower()})"
            if number is not None
            else "no trial has finished yet"
        )
        raise UsageError(f"--export: {what}; give --step S (or --any-step) to take a val it reported on the way")
    best = min(done, key=lambda t: (t.value, t.number))
    return Choice(best, None, best.value)


def group_choices(hydra_cfg: dict[str, Any]) -> dict[str, str]:
    """model, optim, schedule ... as the trial's job chose them (Hydra's runtime.choices)."""
    choices = (hydra_cfg.get("hydra") or hydra_cfg).get("runtime", {}).get("choices", {})
    chosen = {
        group: str(option)
        for group, option in choices.items()
        if "/" not in group and group not in GROUPS_OF_THEIR_OWN and option is not None
    }
    return dict(
        sorted(
            chosen.items(),
            key=lambda item: (GROUP_ORDER.index(item[0]) if item[0] in GROUP_ORDER else len(GROUP_ORDER), item[0]),
        )
    )


def differences(ran: dict[str, Any], default: dict[str, Any]) -> dict[str, Any]:
    """The nested keys of `ran` whose values are not `default`'s (unresolved: ${...} kept)."""
    out: dict[str, Any] = {}
    for key, value in ran.items():
        if isinstance(value, dict) and isinstance(default.get(key), dict):
            inner = differences(value, default[key])
            if inner:
                out[key] = inner
        elif key not in default or default[key] != value:
            out[key] = value
    return out


def recipe_keys(ran: dict[str, Any], default: dict[str, Any], max_steps: int) -> dict[str, Any]:
    """What the preset sets: the trial's differences from the default, max_steps the chosen step."""
    kept = {k: (max_steps if k == "max_steps" else v) for k, v in ran.items() if k not in LEFT_OUT}
    keys = differences(kept, {k: v for k, v in default.items() if k not in LEFT_OUT})
    return keys if "max_steps" in keys else {**keys, "max_steps": max_steps}  # said even where it is the default


def preset_text(
    choice: Choice,
    study: str,
    storage: str,
    groups: dict[str, str],
    keys: dict[str, Any],
    name: str,
    config_dir: str | None,
    today: datetime.date | None = None,
) -> str:
    """The preset's YAML: where it came from, the group choices, then its keys."""
    step = keys["max_steps"]
    state = choice.trial.state.name.lower().replace("complete", "finished")
    run = f"wavenet-train{f' --config-dir {config_dir}' if config_dir else ''} experiment={name}"
    lines = [
        "# @package _global_",
        f"# Exported by wavenet-study on {(today or datetime.date.today()).isoformat()} from the Optuna study "
        f"{study!r},",
        f"# stored in {storage}:",
        f"# trial {choice.trial.number} ({state}), val {choice.val_loss:.4f} at step {step}. "
        f"Its config as it ran, with max_steps={step};",
        "# log.* and checkpoint_interval are left to the defaults (they do not change what is trained).",
        f"#   {run}",
    ]
    if groups.get("schedule", "constant") != "constant" and choice.step is not None:
        lines.append(
            f"# note: schedule={groups['schedule']} depends on max_steps: this run is not the trial's "
            f"first {step} steps"
        )
    if groups:
        lines += ["defaults:", *(f"  - override /{group}: {option}" for group, option in groups.items())]
    return "\n".join(lines) + "\n\n" + yaml.safe_dump(keys, sort_keys=False, default_flow_style=False)


def preset_path(name: str, config_dir: str | None, checkout_conf: Path | None) -> Path:
    """Where `--export NAME` writes: DIR/experiment/ with --config-dir, else the checkout's
    conf/experiment/; never over a file, never under a name wavenet-train already ships."""
    if not PRESET_NAME.fullmatch(name):
        raise UsageError(
            f"--export {name!r}: a preset's name is letters, digits, _ and - (it is typed as experiment=NAME)"
        )
    shipped = checkout_conf / "experiment" / f"{name}.yaml" if checkout_conf else None
    if config_dir:
        path = Path(config_dir) / "experiment" / f"{name}.yaml"
        if shipped is not None and shipped.exists() and not path.exists():
            raise UsageError(f"--export {name}: wavenet-train already ships experiment={name}; choose another name")
    elif checkout_conf is not None:
        path = checkout_conf / "experiment" / f"{name}.yaml"
    else:
        raise UsageError(
            "--export needs --config-dir DIR here (this wavenet-harness is installed, not a checkout "
            "with a conf/ folder): it writes DIR/experiment/NAME.yaml for wavenet-train --config-dir DIR"
        )
    if path.exists():
        raise UsageError(f"--export {name}: {path} already exists; choose another name or remove it first")
    return path
