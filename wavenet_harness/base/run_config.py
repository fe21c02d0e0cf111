"""The run config: every key a run takes, declared once, typed, with its default and meaning.

`RunConfig` is the one declaration of the top-level keys (block_size, lr, ...) and of the
sections that are not config groups (`data`, `log`, the `optuna` link a search adds). The
three config groups (`model`, `optim`, `schedule`) are typed by their options, each a
subclass of `ModelOptions`, `OptimOptions` or `ScheduleOptions` declared beside the code
that uses it (models/<name>.py, training/optim.py, training/schedules.py).

Everything else is derived from these declarations: Hydra composes the YAML onto them
(adapter/schema.py registers them in the ConfigStore, so an unknown key or a value of the
wrong type is refused while composing), `wavenet-train --help` and docs/reference.md
list them, and the adapter turns a composed config into a frozen RunConfig that the
layers below receive instead of the raw dict. Each field is declared with `key(default,
meaning)`; a field's type is its annotation.

This module is the base layer: it knows nothing of Hydra, models or training.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

# OmegaConf reads a dataclass's fields; `help` is ours, for --help and the reference page.
HELP = "help"
# A group option's `name` is its config name; MISSING ("???") in the base class.
MISSING = "???"


def key(default: Any, meaning: str) -> Any:
    """A config key's declaration: its default and one line of meaning (its type is the annotation)."""
    if isinstance(default, (list, dict)) or dataclasses.is_dataclass(default):
        return field(default_factory=lambda: copy.deepcopy(default), metadata={HELP: meaning})
    return field(default=default, metadata={HELP: meaning})


@dataclass(frozen=True)
class GroupOption:
    """One option of a config group (model=hier, optim=adamw, schedule=cosine)."""

    name: str = key(MISSING, "the option's name in its config group (set by choosing it: model=hier)")

    def values(self) -> dict[str, Any]:
        """The option's own keys and values, without its name: a builder's keyword arguments."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "name"}


@dataclass(frozen=True)
class ModelOptions(GroupOption):
    """The `model` group: the options of one model family."""


@dataclass(frozen=True)
class OptimOptions(GroupOption):
    """The `optim` group: one optimizer's options."""


@dataclass(frozen=True)
class ScheduleOptions(GroupOption):
    """The `schedule` group: one learning-rate schedule's options."""


GROUP_BASES: dict[str, type[GroupOption]] = {"model": ModelOptions, "optim": OptimOptions, "schedule": ScheduleOptions}


@dataclass(frozen=True)
class DataOptions:
    path: str = key(
        "data/names.txt", "the words file, one word per line (downloaded on first use when it is names.txt)"
    )
    split_seed: int = key(42, "random.seed of the 80/10/10 train/val/test shuffle, as the lecture")


@dataclass(frozen=True)
class LogOptions:
    loss_every: int = key(10, "write loss/train (and opt/lr) every N steps")
    smooth_window: int = key(1000, "loss/train_smooth window: the lecture's view(-1, 1000).mean(1)")
    progress: bool = key(True, "a progress bar while training")
    samples: int = key(5, "names sampled into TensorBoard text at each evaluation (0: none)")
    diagnostics: bool = key(False, "lecture part 3 diagnostics: tanh saturation, histograms, update:data ratios")
    diagnostics_every: int = key(1000, "steps between diagnostics")


@dataclass(frozen=True)
class TrialLink:
    """What links a search's job to its Optuna trial (the sweeper sets it: ++optuna.trial=...).
    Empty (no storage) for every other run: Hydra cannot set keys under a section that is null."""

    storage: str = key("", "the study's storage, a database URL or a journal file (empty: not a search's job)")
    study: str = key("", "the study's name")
    trial: int = key(-1, "the trial's number in the study")

    @property
    def linked(self) -> bool:
        return bool(self.storage)


# The top-level field that carries a search job's TrialLink.
TRIAL_FIELD = "optuna"
# A warmup a preset chose for its own length, kept for a run shortened with max_steps,
# would take the whole run: it is cut to this share of max_steps instead (training/schedules.py).
SHORTENED_WARMUP_SHARE = 0.1


@dataclass(frozen=True)
class RunConfig:
    """Everything one run is told: composed by Hydra, checked once, read by every layer."""

    # model shape (one home each; a model group may choose other defaults: model=transformer)
    block_size: int = key(8, "characters of context")
    n_embd: int = key(24, "embedding dimension (transformer: residual width; wavenet: residual channels)")
    n_hidden: int = key(128, "neurons per hidden layer (transformer: MLP width; gru: units; wavenet: skip channels)")
    depth: int = key(3, "hier/conv: tree levels; mlp: hidden layers; gru: layers; transformer: blocks; wavenet: cycles")
    # training
    batch_size: int = key(32, "examples per step (models that read whole words: words per step)")
    max_steps: int = key(200000, "training steps")
    lr: float = key(0.1, "learning rate (the schedule's peak)")
    seed: int = key(42, "torch.manual_seed before the model is built")
    device: str = key("auto", "auto | cpu | cuda | mps")
    threads: int = key(0, "torch intra-op threads (0: 1 for small steps, all cores for big ones)")
    eval_interval: int = key(10000, "steps between validation passes (0: only at the end)")
    checkpoint_interval: int = key(10000, "steps between checkpoints (0: only at the end)")
    diverge_factor: float = key(
        10.0, "status diverged when the loss over 100 steps averages above this x ln(vocab) (0: off)"
    )
    ema_decay: float = key(0.0, "> 0: score and save an exponential average of the weights (0: off)")
    # false, true, or the path of a run directory / checkpoint: OmegaConf 2.3 has no Union
    # of primitives, so the adapter checks it.
    resume: Any = key(False, "true: continue this run directory's checkpoint; or a run dir / checkpoint path")
    # speed: all off is the lecture-exact path
    fast: bool = key(False, "hier/mlp: fused forward and hand-written backward, one-op SGD (equal up to rounding)")
    compile: bool = key(False, "the fast path compiled with torch.compile (implies fast)")
    amp: str = key("none", "none | bf16: autocast the forward (meant for GPUs)")
    data: DataOptions = key(DataOptions(), "the words file and its split")
    log: LogOptions = key(LogOptions(), "how a run is watched")
    model: ModelOptions = key(ModelOptions(), "the model family: model=hier")
    optim: OptimOptions = key(OptimOptions(), "the optimizer: optim=sgd")
    schedule: ScheduleOptions = key(ScheduleOptions(), "the learning-rate schedule: schedule=step")
    optuna: TrialLink = key(TrialLink(), "set by a search for each of its jobs: the Optuna trial it runs")

    def as_dict(self) -> dict[str, Any]:
        """Plain values, as a checkpoint and .hydra/config.yaml keep them."""
        return dataclasses.asdict(self)

    @property
    def fast_path(self) -> bool:
        """fast=true, or compile=true (which implies it)."""
        return self.fast or self.compile


def section_classes() -> dict[str, type]:
    """The sections of RunConfig that are not config groups, by their key."""
    return {"data": DataOptions, "log": LogOptions, TRIAL_FIELD: TrialLink}
