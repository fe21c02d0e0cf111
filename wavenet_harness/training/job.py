"""One training job from a plain config dict to a finished run directory.

config -> validate -> data -> model/optimizer/schedule -> (resume) -> train -> outputs.
Kept apart from Hydra so tests, scripts and sweepers can call it directly.

A run directory holds:
  metrics.json   status ("running" while it trains), losses, params, steps, seconds
  tb/            TensorBoard events (see tracking.py for the tags)
  checkpoint.pt  the latest checkpoint (see checkpoint.py)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Sequence

import torch

from wavenet_harness.training import checkpoint as ckpt
from wavenet_harness.config import ConfigError, validate
from wavenet_harness.tracking.console import ProgressBar
from wavenet_harness.data import DEFAULT_NAMES_PATH, Dataset, build_dataset, ensure_names_file, read_words
from wavenet_harness.models.conv import word_batches_from_config
from wavenet_harness.tracking.diagnostics import Diagnostics
from wavenet_harness.models.fused import speed_report, speed_up_model, speed_up_optimizer, wrap_amp
from wavenet_harness.models.tree import build_model, num_params
from wavenet_harness.training.optim import build_optimizer, build_schedule
from wavenet_harness.models.sampling import tensorboard_sampler
from wavenet_harness.tracking.tensorboard import TensorBoardTracker, hparam_values, write_json_atomic
from wavenet_harness.training.loop import TrainResult, TrainSettings, train

METRICS_NAME = "metrics.json"
# Keys that describe how a run is watched or where it lives, not what it trains.
NOT_HPARAMS = ("log", "resume", "device", "threads", "checkpoint_interval", "eval_interval", "optuna")
# Keys that must match for a checkpoint to continue a run.
SHAPE_KEYS = ("block_size", "n_embd", "n_hidden", "depth", "model")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda is not allowed: no CUDA device is present here (use device=auto or cpu)")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("device=mps is not allowed: no Apple MPS device is present here (use device=auto or cpu)")
    return torch.device(name)


def load_dataset(cfg: dict[str, Any], base_dir: Path) -> Dataset:
    path = Path(cfg["data"]["path"])
    if not path.is_absolute():
        path = base_dir / path
    if cfg["data"]["path"] == DEFAULT_NAMES_PATH:
        ensure_names_file(path)
    return build_dataset(read_words(path), cfg["block_size"], cfg["data"]["split_seed"])


def build_model_from_config(cfg: dict[str, Any], vocab_size: int) -> torch.nn.Module:
    options = {k: v for k, v in cfg["model"].items() if k != "name"}
    model = build_model(
        cfg["model"]["name"], vocab_size, cfg["block_size"], cfg["n_embd"], cfg["n_hidden"], cfg["depth"], **options
    )
    return speed_up_model(model, cfg)  # fast=true / compile=true; the model itself otherwise


def _options(group: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in group.items() if k != "name"}


def _resume_source(cfg: dict[str, Any], run_dir: Path) -> Path | None:
    """resume=false: none; true: this run dir's checkpoint if any; a path: that one."""
    resume = cfg.get("resume", False)
    if resume is False or resume is None:
        return None
    if resume is True:
        own = run_dir / ckpt.CHECKPOINT_NAME
        if own.exists():
            return own
        # Normal for a job that died before its first checkpoint; a surprise if
        # hydra.run.dir was forgotten, so say where we looked.
        print(f"resume=true: no {ckpt.CHECKPOINT_NAME} in {run_dir}; starting from step 0", file=sys.stderr)
        return None
    return ckpt.find_checkpoint(Path(str(resume)))


def _check_same_shape(saved_cfg: dict[str, Any], cfg: dict[str, Any], source: Path) -> None:
    for key in SHAPE_KEYS:
        if saved_cfg.get(key) != cfg.get(key):
            raise ckpt.CheckpointError(
                f"cannot resume from {source}: it was trained with {key}={saved_cfg.get(key)!r}, "
                f"this run has {key}={cfg.get(key)!r}"
            )


def _restore(source: Path, cfg: dict[str, Any], model, optimizer, vocab: tuple[str, ...]) -> tuple[int, Any]:
    """Load a checkpoint into the freshly built model and optimizer; return (step, tracker state)."""
    state = ckpt.load_checkpoint(source)
    try:
        _check_same_shape(state["config"], cfg, source)
        if tuple(state["vocab"]) != tuple(vocab):
            raise ckpt.CheckpointError(
                f"cannot resume from {source}: it was trained on a vocabulary of {len(state['vocab'])} characters "
                f"({''.join(state['vocab'])!r}), data.path={cfg['data']['path']} gives {''.join(vocab)!r}"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        ckpt.set_rng_state(state["rng"])
        step = int(state["step"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        if isinstance(err, ckpt.CheckpointError):
            raise
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ckpt.CheckpointError(f"cannot resume from {source}: it does not fit this run ({first_line})") from None
    print(f"resuming from {source} at step {step}", file=sys.stderr)
    return step, state.get("tracker")


def run_training(
    cfg: dict[str, Any], run_dir: Path, base_dir: Path | None = None, listeners: Sequence[Any] = ()
) -> dict[str, Any]:
    """Train one job described by `cfg` into `run_dir`; return its metrics dict.

    `listeners` join the run's own (e.g. a sweeper's pruning reporter).

    Errors in the config or data raise (ConfigError, DataError, CheckpointError) before
    any output but metrics.json is written; a failed or diverged run is a result.
    """
    base_dir = base_dir or Path.cwd()
    run_dir.mkdir(parents=True, exist_ok=True)
    validate(cfg)
    device = resolve_device(cfg["device"])
    if cfg.get("threads"):
        torch.set_num_threads(cfg["threads"])
    data = load_dataset(cfg, base_dir)

    torch.manual_seed(cfg["seed"])
    model = build_model_from_config(cfg, data.vocab.size)
    optimizer = build_optimizer(cfg["optim"]["name"], model, cfg["lr"], **_options(cfg["optim"]))
    optimizer = speed_up_optimizer(optimizer, cfg)  # fast=true: one multi-tensor update
    schedule = build_schedule(cfg["schedule"]["name"], cfg["lr"], cfg["max_steps"], **_options(cfg["schedule"]))

    start_step, tracker_state = 0, None
    source = _resume_source(cfg, run_dir)
    if source is not None:
        start_step, tracker_state = _restore(source, cfg, model, optimizer, data.vocab.chars)

    model.to(device)
    model = wrap_amp(model, cfg.get("amp"), device)  # amp=bf16: autocast forward
    train_xy = (data.train.X.to(device), data.train.Y.to(device))
    val_xy = (data.val.X.to(device), data.val.Y.to(device))

    metrics: dict[str, Any] = {
        "status": "running",
        "model": cfg["model"]["name"],
        "params": num_params(model),
        "device": str(device),
        "steps": start_step,
        "max_steps": cfg["max_steps"],
        "train_loss": None,
        "val_loss": None,
        "seconds": 0.0,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "resumed_from_step": start_step or None,
    }
    write_json_atomic(run_dir / METRICS_NAME, metrics)

    hparams = hparam_values(cfg, metrics["params"], exclude=NOT_HPARAMS)
    log = cfg["log"]
    sampler = tensorboard_sampler(model, data.vocab, data.train.words, log.get("samples", 0), cfg["seed"])
    tracker = TensorBoardTracker(
        run_dir / "tb", hparams, loss_every=log["loss_every"], smooth_window=log["smooth_window"], start_step=start_step,
        sampler=sampler,
    )
    watchers = [Diagnostics(model, tracker.writer, log["diagnostics_every"], start_step)] if log.get("diagnostics") else []
    if tracker_state is not None:
        tracker.load_state_dict(tracker_state)

    def save_checkpoint(step: int) -> None:
        ckpt.save_checkpoint(
            run_dir / ckpt.CHECKPOINT_NAME,
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "step": step,
                "rng": ckpt.rng_state(),
                "tracker": tracker.state_dict(),
                "config": cfg,
                "vocab": list(data.vocab.chars),
            },
        )

    settings = TrainSettings(
        max_steps=cfg["max_steps"],
        batch_size=cfg["batch_size"],
        eval_interval=cfg["eval_interval"],
        checkpoint_interval=cfg["checkpoint_interval"],
        sync_every=1 if device.type == "cpu" else 100,
    )
    with ProgressBar(cfg["max_steps"], start_step, enabled=log["progress"]) as progress:
        try:
            result = train(
                model, optimizer, schedule, train_xy, val_xy, settings,
                listeners=[tracker, progress, *watchers, *listeners], start_step=start_step, save_checkpoint=save_checkpoint,
                batch_loss=word_batches_from_config(cfg, data, device),  # model=conv: every position
            )
        except Exception as err:  # a crash mid-run is recorded, then re-raised for the caller
            result = TrainResult("failed", metrics["steps"], 0.0, error=f"{type(err).__name__}: {err}")
            _finish(metrics, result, run_dir, tracker)
            raise
    result.extra.update(speed_report(model))  # fast path: compile_seconds
    return _finish(metrics, result, run_dir, tracker)


def _finish(metrics: dict[str, Any], result: TrainResult, run_dir: Path, tracker: TensorBoardTracker) -> dict[str, Any]:
    metrics.update(
        status=result.status,
        steps=result.steps,
        seconds=round(result.seconds, 3),
        train_loss=result.train_loss,
        val_loss=result.val_loss,
        error=result.error,
        finished_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
        **result.extra,
    )
    tracker.on_end(metrics)
    write_json_atomic(run_dir / METRICS_NAME, metrics)
    return metrics
