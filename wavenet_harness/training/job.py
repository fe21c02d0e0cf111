"""One training job from a plain config dict to a finished run directory.

config -> validate -> data -> model/optimizer/schedule/batches -> (resume) -> train -> run dir.
Kept apart from Hydra so tests, scripts and sweepers can call it directly; the run
directory's files are named and written by tracking/rundir.py. It knows nothing of the
command line.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch

from wavenet_harness.config import validate
from wavenet_harness.data import DEFAULT_NAMES_PATH, Dataset, build_dataset, ensure_names_file, read_words
from wavenet_harness.models import HPARAM_COLUMNS, batches_from_config, build_model_from_config, num_params
from wavenet_harness.models.fused import speed_report, wrap_amp
from wavenet_harness.sweeps.study import SWEEPER_KEYS, job_listeners
from wavenet_harness.tracking import rundir
from wavenet_harness.tracking.console import ProgressBar
from wavenet_harness.tracking.diagnostics import Diagnostics
from wavenet_harness.tracking.tensorboard import TensorBoardTracker, hparam_values, tensorboard_sampler
from wavenet_harness.training import checkpoint as ckpt
from wavenet_harness.training.device import resolve_device
from wavenet_harness.training.loop import TrainResult, TrainSettings, train
from wavenet_harness.training.optim import (
    OPTIM_HPARAM_COLUMNS, SCHEDULE_HPARAM_COLUMNS, build_optimizer_from_config, schedule_from_config,
)

# Keys that describe how a run is watched or where it lives, not what it trains.
NOT_HPARAMS = ("log", "resume", "device", "threads", "checkpoint_interval", "eval_interval", *SWEEPER_KEYS)
# Options only some choices of a group have: one HParams column each, declared by their owners.
OPTION_COLUMNS = {
    **{f"model.{k}": v for k, v in HPARAM_COLUMNS.items()},
    **{f"optim.{k}": v for k, v in OPTIM_HPARAM_COLUMNS.items()},
    **{f"schedule.{k}": v for k, v in SCHEDULE_HPARAM_COLUMNS.items()},
}


def load_dataset(cfg: dict[str, Any], base_dir: Path) -> Dataset:
    path = Path(cfg["data"]["path"])
    if not path.is_absolute():
        path = base_dir / path
    if cfg["data"]["path"] == DEFAULT_NAMES_PATH:
        ensure_names_file(path)
    return build_dataset(read_words(path), cfg["block_size"], cfg["data"]["split_seed"])


@dataclass
class Job:
    """What one run trains: its config, data, model and optimizer, on its device."""

    cfg: dict[str, Any]
    run_dir: Path
    data: Dataset
    device: torch.device
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    start_step: int = 0
    tracker_state: dict | None = None

    def save_checkpoint(self, step: int, tracker: TensorBoardTracker) -> None:
        ckpt.save_checkpoint(
            self.run_dir / rundir.CHECKPOINT_NAME,
            {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "step": step,
                "rng": ckpt.rng_state(),
                "tracker": tracker.state_dict(),
                "config": self.cfg,
                "vocab": list(self.data.vocab.chars),
            },
        )


def run_training(
    cfg: dict[str, Any], run_dir: Path, base_dir: Path | None = None, listeners: Sequence[Any] = ()
) -> dict[str, Any]:
    """Train one job described by `cfg` into `run_dir`; return its metrics dict.

    `listeners` join the run's own (e.g. a sweeper's pruning reporter; an Optuna trial's
    is added here from the config). Errors in the config or data raise (ConfigError,
    DataError, CheckpointError) before any output but metrics.json is written; a failed
    or diverged run is a result.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    validate(cfg)
    device = resolve_device(cfg["device"])
    if cfg.get("threads"):
        torch.set_num_threads(cfg["threads"])
    data = load_dataset(cfg, base_dir or Path.cwd())
    job = _build_job(cfg, run_dir, data, device)
    train_xy = (data.train.X.to(device), data.train.Y.to(device))
    val_xy = (data.val.X.to(device), data.val.Y.to(device))
    metrics = _start_metrics(job)
    tracker, watchers = _trackers(job, metrics["params"])
    listeners = [*listeners, *job_listeners(cfg)]
    log = cfg["log"]
    with ProgressBar(cfg["max_steps"], job.start_step, enabled=log["progress"]) as progress:
        try:
            result = train(
                job.model, job.optimizer, schedule_from_config(cfg), train_xy, val_xy, _settings(cfg, device),
                listeners=[tracker, progress, *watchers, *listeners], start_step=job.start_step,
                save_checkpoint=lambda step: job.save_checkpoint(step, tracker),
                batches=batches_from_config(cfg, data, train_xy),
            )
        except Exception as err:  # a crash mid-run is recorded, then re-raised for the caller
            result = TrainResult("failed", metrics["steps"], 0.0, error=f"{type(err).__name__}: {err}")
            _finish(metrics, result, run_dir, tracker)
            raise
    result.extra.update(speed_report(job.model))  # fast path: compile_seconds
    return _finish(metrics, result, run_dir, tracker)


def _build_job(cfg: dict[str, Any], run_dir: Path, data: Dataset, device: torch.device) -> Job:
    """Model and optimizer from the seed, restored from a checkpoint when resuming."""
    torch.manual_seed(cfg["seed"])
    model = build_model_from_config(cfg, data.vocab.size)
    optimizer = build_optimizer_from_config(cfg, model)
    job = Job(cfg, run_dir, data, device, model, optimizer)
    source = _resume_source(cfg, run_dir)
    if source is not None:
        job.start_step, job.tracker_state = _restore(source, job)
    model.to(device)
    job.model = wrap_amp(model, cfg.get("amp"), device)  # amp=bf16: autocast forward
    return job


def _resume_source(cfg: dict[str, Any], run_dir: Path) -> Path | None:
    """resume=false: none; true: this run dir's checkpoint if any; a path: that one."""
    resume = cfg.get("resume", False)
    if resume is False or resume is None:
        return None
    if resume is True:
        own = run_dir / rundir.CHECKPOINT_NAME
        if own.exists():
            return own
        # Normal for a job that died before its first checkpoint; a surprise if
        # hydra.run.dir was forgotten, so say where we looked.
        print(f"resume=true: no {rundir.CHECKPOINT_NAME} in {run_dir}; starting from step 0", file=sys.stderr)
        return None
    return ckpt.find_checkpoint(Path(str(resume)))


def _restore(source: Path, job: Job) -> tuple[int, Any]:
    """Load a checkpoint into the freshly built model and optimizer; return (step, tracker state)."""
    state = ckpt.load_checkpoint(source)
    try:
        ckpt.check_identity(state, job.cfg, job.data.vocab.chars, source)
        job.model.load_state_dict(state["model"])
        job.optimizer.load_state_dict(state["optimizer"])
        ckpt.set_rng_state(state["rng"])
        step = int(state["step"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        if isinstance(err, ckpt.CheckpointError):
            raise
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ckpt.CheckpointError(f"cannot resume from {source}: it does not fit this run ({first_line})") from None
    print(f"resuming from {source} at step {step}", file=sys.stderr)
    return step, state.get("tracker")


def _start_metrics(job: Job) -> dict[str, Any]:
    """metrics.json as the run starts: status "running", what it trains, where it began."""
    metrics: dict[str, Any] = {
        "status": "running",
        "model": job.cfg["model"]["name"],
        "params": num_params(job.model),
        "device": str(job.device),
        "steps": job.start_step,
        "max_steps": job.cfg["max_steps"],
        "train_loss": None,
        "val_loss": None,
        "seconds": 0.0,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "resumed_from_step": job.start_step or None,
    }
    rundir.write_metrics(job.run_dir, metrics)
    return metrics


def _trackers(job: Job, params: int) -> tuple[TensorBoardTracker, list[Any]]:
    """The TensorBoard tracker (with its samples) and, with log.diagnostics, the diagnostics."""
    cfg, log = job.cfg, job.cfg["log"]
    hparams = hparam_values(cfg, params, exclude=NOT_HPARAMS, option_columns=OPTION_COLUMNS)
    sampler = tensorboard_sampler(job.model, job.data.vocab, job.data.train.words, log.get("samples", 0), cfg["seed"])
    tracker = TensorBoardTracker(
        job.run_dir / rundir.TENSORBOARD_DIR, hparams, loss_every=log["loss_every"], smooth_window=log["smooth_window"],
        start_step=job.start_step, sampler=sampler,
    )
    watchers = []
    if log.get("diagnostics"):
        watchers.append(Diagnostics(job.model, tracker.writer, log["diagnostics_every"], job.start_step))
    if job.tracker_state is not None:
        tracker.load_state_dict(job.tracker_state)
    return tracker, watchers


def _settings(cfg: dict[str, Any], device: torch.device) -> TrainSettings:
    return TrainSettings(
        max_steps=cfg["max_steps"],
        batch_size=cfg["batch_size"],
        eval_interval=cfg["eval_interval"],
        checkpoint_interval=cfg["checkpoint_interval"],
        sync_every=1 if device.type == "cpu" else 100,
    )


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
    rundir.write_metrics(run_dir, metrics)
    return metrics

