"""Checkpoints: everything needed to continue a run bit for bit, written atomically.

A checkpoint holds the model, the optimizer, the step to run next, every random-number
generator the loop draws from, the listeners' own state (e.g. a half-full smoothing
window) and the resolved config. It is loaded with torch.load(weights_only=True), so
opening one never runs code stored in it. A checkpoint continues a run only if it is
the same model on the same vocabulary (`check_identity`).

The file's name is the run record's (base/records.py), its write atomic (base/files.py); this
module knows nothing of configs beyond the shape keys the model registry names.
"""

from __future__ import annotations

import io
import os
import random
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from wavenet_harness.base.errors import CheckpointError
from wavenet_harness.base.files import write_atomic
from wavenet_harness.base.records import CHECKPOINT_NAME
from wavenet_harness.base.run_config import RunConfig
from wavenet_harness.models import SHAPE_KEYS
from wavenet_harness.training import averaging

# The keys of a checkpoint: model, optimizer, step, rng, tracker, config, vocab, format_version.
FORMAT_VERSION = 1


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(_as_tuple(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuple(value):
    # random.setstate wants the nested tuples back exactly as getstate gave them.
    return tuple(_as_tuple(v) for v in value) if isinstance(value, (list, tuple)) else value


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """torch.save to a temporary file in the same folder, then rename over the old one.

    Serialised in memory first: torch.save writing straight to a file turns a full disk
    into a RuntimeError about zip offsets, while a plain write raises the OSError
    (ENOSPC) that says what happened. Either way the old checkpoint is untouched."""
    buffer = io.BytesIO()
    torch.save(dict(state, format_version=FORMAT_VERSION), buffer)
    write_atomic(path, lambda f: f.write(buffer.getbuffer()), binary=True)


def find_checkpoint(path: str | os.PathLike) -> Path:
    """Accept a checkpoint file or a run directory that holds one."""
    path = Path(path)
    candidate = path / CHECKPOINT_NAME if path.is_dir() else path
    if not candidate.is_file():  # a FIFO or device is never opened: reading one may block forever
        where = (
            f"{path} holds no {CHECKPOINT_NAME}"
            if path.is_dir()
            else f"{candidate} is not a regular file"
            if candidate.exists()
            else f"{path} does not exist"
        )
        raise CheckpointError(f"cannot resume: {where}")
    return candidate


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    path = find_checkpoint(path)
    try:
        # Damaged bytes make torch's unpickler warn about odd protocols on the way to failing.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # weights_only runs no code, so any failure here means a bad file
        if "Weights only load failed" in str(err):
            # torch's own message goes on to explain how to load the file unsafely; don't.
            detail = "it holds more than tensors and plain data, so it was not loaded"
        else:
            detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(
            f"{path} is not a readable checkpoint (truncated, corrupt or tampered?): {detail}"
        ) from None
    if not isinstance(state, dict) or state.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} is not a wavenet-harness checkpoint (format {FORMAT_VERSION})")
    return state


# Keys of the checkpoint's config that must match too: (dotted key, what it is).
IDENTITY_KEYS = (("data.split_seed", "split seed"), ("optim.name", "optimizer"), ("schedule.name", "schedule"))


# What a resume may change: how long it trains (max_steps, to extend it), how it is watched,
# where it runs, and where the same words file now lies (its sha256 is checked). Every other
# key is the training itself; each start's overrides are kept in the run's starts.json.
RESUME_MAY_CHANGE = (
    "max_steps",
    "log.*",
    "device",
    "threads",
    "eval_interval",
    "checkpoint_interval",
    "diverge_factor",
    "data.path",
    "resume",
    "optuna.*",
)


def _flat(values: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(values, dict):
        return {prefix: values}
    flat: dict[str, Any] = {}
    for key, value in values.items():
        flat.update(_flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return flat


def _may_change(key: str) -> bool:
    return any(
        key == allowed
        or (allowed.endswith(".*") and key.startswith(allowed[:-1]))
        or (allowed.endswith(".*") and key == allowed[:-2])
        for allowed in RESUME_MAY_CHANGE
    )


def changed_training_keys(saved: dict[str, Any], current: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, trained value, this run's value) for each training key a resume would change, between
    two configs as checkpoints keep them. A key the checkpoint does not hold (saved before the
    key existed) is not compared."""
    before, now = _flat(saved), _flat(current)
    return [
        (key, before[key], now.get(key))
        for key in sorted(before)
        if not _may_change(key) and key in now and before[key] != now[key]
    ]


def _dotted(values: Any, key: str) -> Any:
    for part in key.split("."):
        values = values.get(part) if isinstance(values, dict) else None
    return values


def check_identity(
    state: dict[str, Any], config: RunConfig, vocab: Sequence[str], source: Path, words_sha256: str | None = None
) -> None:
    """A checkpoint continues a run only with the same model shape and vocabulary, the same
    data (words file by sha256, split seed), optimizer and schedule, and not backwards."""
    saved, current = state["config"], config.as_dict()  # both as checkpoints keep a config
    for key in SHAPE_KEYS:
        if saved.get(key) != current.get(key):
            raise CheckpointError(
                f"cannot resume from {source}: it was trained with {key}={saved.get(key)!r}, "
                f"this run has {key}={current.get(key)!r}"
            )
    if tuple(state["vocab"]) != tuple(vocab):
        raise CheckpointError(
            f"cannot resume from {source}: it was trained on a vocabulary of {len(state['vocab'])} characters "
            f"({''.join(state['vocab'])!r}), data.path={config.data.path} gives {''.join(vocab)!r}"
        )
    for key, what in IDENTITY_KEYS:
        if _dotted(saved, key) != _dotted(current, key):
            raise CheckpointError(
                f"cannot resume from {source}: its {what} is {key}={_dotted(saved, key)!r}, "
                f"this run has {key}={_dotted(current, key)!r}; start a new run instead"
            )
    saved_sha = (state.get("data") or {}).get("words_sha256")  # absent in checkpoints from before it was kept
    if words_sha256 is not None and saved_sha not in (None, words_sha256):
        raise CheckpointError(
            f"cannot resume from {source}: data.path={config.data.path} is not the words file it was trained on "
            "(its sha256 differs); give the original file"
        )
    _check_unchanged(saved, current, source)
    step = state.get("step")
    if isinstance(step, int) and step > config.max_steps:
        raise CheckpointError(
            f"cannot resume from {source}: it is at step {step}, past max_steps={config.max_steps}; "
            f"give max_steps={step} or more"
        )


def _check_unchanged(saved: dict[str, Any], current: dict[str, Any], source: Path) -> None:
    changed = changed_training_keys(saved, current)
    if changed:
        shown = ", ".join(f"{key}={old!r} (this run: {new!r})" for key, old, new in changed[:4])
        raise CheckpointError(
            f"cannot resume from {source}: it was trained with {shown}; a resume continues the same training, so "
            f"only {', '.join(RESUME_MAY_CHANGE)} may change: give the run's values, or start a new run"
        )


def resume_source(resume: Any, run_dir: Path) -> Path | None:
    """resume=false: none; true: this run dir's checkpoint if any; a path: that one."""
    if resume is False or resume is None:
        return None
    if resume is True:
        own = run_dir / CHECKPOINT_NAME
        if own.exists():
            return own
        # Normal for a job that died before its first checkpoint; a surprise if
        # hydra.run.dir was forgotten, so say where we looked.
        print(f"resume=true: no {CHECKPOINT_NAME} in {run_dir}; starting from step 0", file=sys.stderr)
        return None
    return find_checkpoint(Path(str(resume)))


def restore(
    source: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    averaged: Any,
    config: RunConfig,
    vocab: Sequence[str],
    words_sha256: str,
) -> tuple[int, Any]:
    """Load a checkpoint into a freshly built model, optimizer and weight average (after
    checking it is this run's); return (step, the tracker's state)."""
    state = load_checkpoint(source)
    try:
        check_identity(state, config, vocab, source, words_sha256)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        set_rng_state(state["rng"])
        averaging.restore(averaged, state, source)
        step = int(state["step"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        if isinstance(err, CheckpointError):
            raise
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"cannot resume from {source}: it does not fit this run ({first_line})") from None
    print(f"resuming from {source} at step {step}", file=sys.stderr)
    return step, state.get("tracker")
