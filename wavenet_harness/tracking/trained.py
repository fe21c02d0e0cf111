"""A finished wavenet-train run, loaded back: its checkpoint, config, model and words.

Shared by `wavenet-sample` and `wavenet-eval`. Every problem raises an error whose one
line says what to pass instead (RunDirError, CheckpointError, DataError); it knows
nothing of the command line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from wavenet_harness.base.data import DataError, Vocabulary, read_words, sha256_of
from wavenet_harness.base.run_config import DataOptions, LogOptions, RunConfig, TrialLink
from wavenet_harness.models import build_run_model, model_options
from wavenet_harness.tracking.rundir import checkpoint_in
from wavenet_harness.training.averaging import scored_weights
from wavenet_harness.training.checkpoint import CheckpointError, load_checkpoint
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
            "data": DataOptions(**saved["data"]), "log": LogOptions(**saved.get("log", {})),
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
