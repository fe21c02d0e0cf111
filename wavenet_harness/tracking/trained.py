"""A finished wavenet-train run, loaded back: its checkpoint, config, model and words;
words sampled from it and its loss on a split.

Shared by `wavenet-sample`, `wavenet-eval` and the Python API (Run.sample, Run.evaluate),
so each gives the same words and numbers. Every problem raises an error whose one line
says what to pass instead (RunDirError, CheckpointError, DataError, UsageError); it knows
nothing of the command line: `check_sampling` is told how the caller spells an argument.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from wavenet_harness.base.data import DataError, Vocabulary, build_dataset, read_words, sha256_of
from wavenet_harness.base.errors import UsageError
from wavenet_harness.base.run_config import DataOptions, LogOptions, RunConfig, TrialLink
from wavenet_harness.models import build_run_model, model_options
from wavenet_harness.models.sampling import DEFAULT_MAX_LEN, generate
from wavenet_harness.tracking.rundir import checkpoint_in
from wavenet_harness.training.averaging import scored_weights
from wavenet_harness.training.checkpoint import CheckpointError, load_checkpoint
from wavenet_harness.training.evaluation import evaluate
from wavenet_harness.training.optim import OPTIMIZERS
from wavenet_harness.training.schedules import SCHEDULES


@dataclass
class TrainedRun:
    checkpoint: Path
    config: RunConfig  # as the run trained (its checkpoint's copy)
    vocab: Vocabulary
    state: dict[str, Any]

    @property
    def step(self) -> int | None:
        return self.state.get("step")

    @property
    def weights(self) -> str:
        """Which weights `model()` holds: "ema" (the run's average, ema_decay) or "raw"."""
        return "ema" if scored_weights(self.state) is not self.state.get("model") else "raw"

    def model(self) -> nn.Module:
        """The plain layer-by-layer model with the trained weights (a fused or compiled
        training path buys nothing outside training)."""
        try:
            model = build_run_model(dataclasses.replace(self.config, fast=False, compile=False), self.vocab.size)
            model.load_state_dict(scored_weights(self.state))  # the average, when the run kept one
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as err:
            detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise CheckpointError(
                f"{self.checkpoint} does not hold a usable model (damaged?): {detail[:200]}"
            ) from None
        return model

    def words(self, data_option: str | None = None) -> list[str]:
        """Every word of the file the run trained on (data.path, or `data_option`)."""
        if data_option:
            candidates = [Path(data_option)]
        else:
            configured = Path(self.config.data.path)
            # A relative data.path was relative to where training ran: usually the folder
            # that holds runs/, so try the current one and every folder above the run.
            bases = [Path.cwd(), *self.checkpoint.resolve().parents]
            candidates = [configured] if configured.is_absolute() else [base / configured for base in bases]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise DataError(
                f"cannot find the training words file {candidates[0]} (data.path={self.config.data.path}); "
                "pass --data PATH"
            )
        words = read_words(found)
        if Vocabulary.from_words(words).chars != self.vocab.chars:
            raise DataError(
                f"{found} is not the file this model was trained on (its characters differ); pass --data PATH"
            )
        recorded = (self.state.get("data") or {}).get("words_sha256")
        if recorded and sha256_of(found) != recorded:
            raise DataError(
                f"{found} is not the file this model was trained on (same characters, other words: its sha256 "
                "differs); its splits would mix train and val. Pass --data with the original file"
            )
        return words


def load_trained_run(path: str | Path) -> TrainedRun:
    checkpoint = checkpoint_in(Path(path))
    state = load_checkpoint(checkpoint)
    if "vocab" not in state or "config" not in state:
        raise CheckpointError(f"{checkpoint} has no saved vocabulary or config; it cannot be used")
    _check_contents(checkpoint, state)
    return TrainedRun(
        checkpoint, saved_run_config(checkpoint, state["config"]), Vocabulary(tuple(state["vocab"])), state
    )


def saved_run_config(checkpoint: Path, saved: dict[str, Any]) -> RunConfig:
    """The typed config a checkpoint keeps (as plain values: RunConfig.as_dict())."""
    try:
        sections: dict[str, Any] = {
            "data": DataOptions(**saved["data"]),
            "log": LogOptions(**saved.get("log", {})),
            "model": model_options(**saved["model"]),
            "optim": OPTIMIZERS[saved["optim"]["name"]].options(**saved["optim"]),
            "schedule": SCHEDULES[saved["schedule"]["name"]].options(**saved["schedule"]),
            "optuna": TrialLink(**(saved.get("optuna") or {})),
        }
        top = {key: value for key, value in saved.items() if key not in sections}
        return RunConfig(**top, **sections)
    except (KeyError, TypeError, ValueError) as err:
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(
            f"{checkpoint} cannot be used (damaged?): its config does not fit ({detail[:160]})"
        ) from None


def _check_contents(checkpoint: Path, state: dict[str, Any]) -> None:
    """What sampling and evaluation read from a checkpoint, checked before they read it."""
    saved, vocab = state["config"], state["vocab"]
    problem = None
    if not isinstance(vocab, (list, tuple)) or not all(isinstance(ch, str) and len(ch) == 1 for ch in vocab):
        problem = "its vocabulary is not a list of characters"
    elif not isinstance(saved, dict) or not isinstance(saved.get("data"), dict):
        problem = "its config has no data section"
    elif not isinstance(saved["data"].get("path"), str) or not isinstance(saved["data"].get("split_seed"), int):
        problem = "its config lacks data.path or data.split_seed"
    elif not isinstance(saved.get("block_size"), int) or saved["block_size"] < 1:
        problem = "its config lacks a block_size"
    elif not isinstance(state.get("model"), dict):
        problem = "it holds no model weights"
    if problem:
        raise CheckpointError(f"{checkpoint} cannot be used (damaged?): {problem}")


# ---------------------------------------------------------------- sampling and evaluation

MAX_SAMPLES = 100_000  # words per call; more is a file's worth, not a look at the model
LARGEST_SEED = 2**63 - 1
SPLITS = ("train", "val", "test")


def check_sampling(
    num: Any, temperature: Any, top_k: Any, seed: Any, max_len: Any, prefix: str, spell: Callable[..., str]
) -> None:
    """The sampling arguments' rules. `spell(name)` writes an argument's name as the caller's
    user types it, `spell(name, value)` the argument with its value (the CLI: --max-len and
    "--top-k 0"; Python: max_len and "top_k=0")."""
    rules = [
        ("num", isinstance(num, int) and 1 <= num <= MAX_SAMPLES, f"give a whole number from 1 to {MAX_SAMPLES:,}"),
        ("seed", isinstance(seed, int) and 0 <= seed <= LARGEST_SEED, "give a whole number from 0 to 2**63 - 1"),
        (
            "temperature",
            isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0,
            "give a positive finite number",
        ),
        ("top_k", top_k is None or (isinstance(top_k, int) and top_k >= 1), "give a whole number >= 1"),
        ("max_len", isinstance(max_len, int) and 1 <= max_len <= 640_000, "give a positive whole number up to 640,000"),
    ]
    values = {"num": num, "seed": seed, "temperature": temperature, "top_k": top_k, "max_len": max_len}
    for name, ok, rule in rules:
        if not ok:
            raise UsageError(f"{spell(name, values[name])} is not allowed: {rule}")
    if len(prefix) >= max_len:  # nothing would be sampled: the prefix alone is not a sample
        too_short = spell("max_len", max_len)
        raise UsageError(
            f"{spell('prefix')} is {len(prefix)} characters, not shorter than {too_short}: "
            f"give a longer {spell('max_len')} or a shorter {spell('prefix')}"
        )
    if top_k is not None and top_k > LARGEST_SEED:
        raise UsageError(f"{spell('top_k', top_k)} is not allowed: give a whole number below 2**63")


def check_prefix(run: TrainedRun, prefix: str, spell: Callable[..., str]) -> None:
    """Every character of `prefix` is one the model knows (not the end token '.')."""
    unknown = "".join(sorted(set(prefix) - set(run.vocab.chars)))  # includes the end token '.'
    if unknown:
        raise UsageError(f"{spell('prefix', prefix)} has characters the model does not know: {unknown!r}")


def python_argument(name: str, *value: Any) -> str:
    """An argument as a Python call writes it: max_len, and with its value top_k=0."""
    return f"{name}={value[0]!r}" if value else name


def sample_words(
    run: TrainedRun,
    num: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 42,
    prefix: str = "",
    max_len: int = DEFAULT_MAX_LEN,
    spell: Callable[..., str] = python_argument,
) -> list[str]:
    """`num` words from the run's model, drawn by a generator seeded `seed` (never the global one)."""
    check_prefix(run, prefix, spell)
    generator = torch.Generator().manual_seed(seed)
    try:
        return generate(
            run.model(),
            run.vocab,
            num,
            temperature,
            top_k,
            generator,
            prefix,
            max_len,
            block_size=run.config.block_size,
        )
    except ValueError as err:
        raise UsageError(f"cannot sample from {run.checkpoint}: {err}") from None


def split_loss(run: TrainedRun, split: str, data_option: str | None = None) -> dict[str, Any]:
    """The run's mean loss per character on one split of its data (eval mode), with what it was
    computed on: what `wavenet-eval` prints and Run.evaluate returns."""
    if split not in SPLITS:
        raise UsageError(f"split={split!r} is not allowed: choose one of {', '.join(SPLITS)}")
    config = run.config
    dataset = build_dataset(run.words(data_option), config.block_size, config.data.split_seed)
    part = dataset.split(split)
    with torch.no_grad():
        loss = evaluate(run.model(), part.X, part.Y)
    words_sha256 = (run.state.get("data") or {}).get("words_sha256")
    return {
        "checkpoint": str(run.checkpoint),
        "step": run.step,
        "weights": run.weights,
        "split": split,
        # what the split is cut from: runs are averaged only when these agree
        "data": {"words_sha256": words_sha256 or str(config.data.path), "split_seed": config.data.split_seed},
        "words": len(part.words),
        "predictions": int(part.Y.shape[0]),
        "loss": loss,
        # A model with NaN weights scores NaN: JSON says null, and this says why.
        "status": "ok" if math.isfinite(loss) else "non_finite",
    }
