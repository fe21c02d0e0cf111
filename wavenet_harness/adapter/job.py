"""One training job from its typed config to a finished run directory.

config (RunConfig, validated once) -> (run dir free?) -> data -> model/optimizer/schedule/batches -> (resume)
-> claim the run dir -> train -> run dir. Every check comes before the claim, so a job
refused for any reason writes nothing. Kept apart from Hydra so tests, scripts and
sweepers can call it directly; its data comes from adapter/job_data.py, and the run
directory's files are named and written by base/records.py (the run record) and
tracking/rundir.py (the claim). It knows nothing of the command line: the CLI validates
the config first and hands in the listeners a sweeper needs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from wavenet_harness.adapter.config import validate
from wavenet_harness.adapter.job_data import data_identity, load_dataset, within_memory
from wavenet_harness.base.data import Dataset
from wavenet_harness.base.errors import RunDirFull
from wavenet_harness.base.files import is_disk_full
from wavenet_harness.base.passwords import mask_secrets
from wavenet_harness.base.records import CHECKPOINT_NAME, RunRecord, now, record_start, write_record
from wavenet_harness.base.run_config import TRIAL_FIELD, RunConfig
from wavenet_harness.models import build_run_model, hparam_columns, num_params, run_batches, trains_on_words
from wavenet_harness.models.speed import speed_report, wrap_amp
from wavenet_harness.tracking import rundir
from wavenet_harness.tracking.console import ProgressBar
from wavenet_harness.tracking.diagnostics import Diagnostics
from wavenet_harness.tracking.hparams import hparam_values, override_keys, run_label
from wavenet_harness.tracking.live import LiveRecord
from wavenet_harness.tracking.tensorboard import TensorBoardTracker, tensorboard_sampler
from wavenet_harness.training import averaging
from wavenet_harness.training import checkpoint as ckpt
from wavenet_harness.training.device import resolve_device, torch_threads
from wavenet_harness.training.divergence import DivergenceCheck
from wavenet_harness.training.loop import TrainResult, TrainSettings, train
from wavenet_harness.training.optim import OPTIM_HPARAM_COLUMNS, build_run_optimizer
from wavenet_harness.training.schedules import SCHEDULE_HPARAM_COLUMNS, build_run_schedule
from wavenet_harness.training.stop_signals import pass_on_signal

# Keys that describe how a run is watched or where it lives, not what it trains.
NOT_HPARAMS = ("log", "resume", "device", "threads", "checkpoint_interval", "eval_interval", TRIAL_FIELD)
# Options only some choices of a group have: one HParams column each, declared by their owners.
OPTION_COLUMNS = {
    **{f"model.{k}": v for k, v in hparam_columns().items()},
    **{f"optim.{k}": v for k, v in OPTIM_HPARAM_COLUMNS.items()},
    **{f"schedule.{k}": v for k, v in SCHEDULE_HPARAM_COLUMNS.items()},
}


@dataclass
class Job:
    """What one run trains: its config, data, model and optimizer, on its device."""

    config: RunConfig
    run_dir: Path
    data: Dataset
    device: torch.device
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    identity: dict[str, Any]
    start_step: int = 0
    tracker_state: dict | None = None
    saved_step: int | None = None  # the step of the checkpoint in run_dir, if it holds one of this run
    averaged: averaging.WeightAverage | None = None  # ema_decay > 0: the weights scored and saved beside the raw

    def save_checkpoint(self, step: int, tracker: TensorBoardTracker) -> None:
        try:
            self._save_checkpoint(step, tracker)
        except OSError as err:  # name the file: a failed write() does not
            raise OSError(err.errno, err.strerror, str(self.run_dir / CHECKPOINT_NAME)) from err
        self.saved_step = step

    def _save_checkpoint(self, step: int, tracker: TensorBoardTracker) -> None:
        ckpt.save_checkpoint(
            self.run_dir / CHECKPOINT_NAME,
            {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "step": step,
                "rng": ckpt.rng_state(),
                "tracker": tracker.state_dict(),
                "config": mask_secrets(self.config.as_dict()),  # a sweep job's storage URL, password masked
                "vocab": list(self.data.vocab.chars),
                "data": self.identity,
                **averaging.checkpoint_entry(self.averaged),
            },
        )


def run_training(
    config: RunConfig | dict[str, Any],
    run_dir: Path,
    base_dir: Path | None = None,
    listeners: Sequence[Any] = (),
    on_claim: Callable[[Path], None] | None = None,
    swept: Sequence[str] | None = None,
    overrides: Sequence[str] = (),
) -> dict[str, Any]:
    """Train one job described by `config` into `run_dir`; return its metrics dict.

    `config`: the typed RunConfig the CLI validated (a plain composed config is validated
    here first). `listeners` join the run's own (an Optuna trial's pruning reporter: the CLI
    builds it with sweeps.study.job_listeners). `on_claim(run_dir)` runs once every check has passed
    and the directory is this run's (the CLI writes Hydra's .hydra/ files there). `swept`:
    for a job of a sweep, the overrides it does not share with the others (['lr=0.05']);
    they name its TensorBoard run and lead its HParams columns. None: a single run.
    `overrides`: the command line's, recorded with this start in the run's starts.json.
    Errors in the config, data, run directory or checkpoint raise (ConfigError, DataError,
    RunDirError, CheckpointError) before anything is written; a failed or diverged run is
    a result.
    """
    base_dir = base_dir or Path.cwd()
    config = config if isinstance(config, RunConfig) else validate(config)
    rundir.check_free(run_dir, config.resume)
    device = resolve_device(config.device)
    data = within_memory(lambda: load_dataset(config, base_dir), "dataset")
    job = _build_job(config, run_dir, data, device, data_identity(config, data, base_dir))
    # A batch that cannot be allocated (batch_size=10**12) is refused before the claim, not at step 0.
    within_memory(
        lambda: torch.empty((config.batch_size, config.block_size), dtype=torch.long, device=device), "batches"
    )
    # Models that read whole words count words per batch, each about block_size rows of work.
    rows = config.batch_size * (config.block_size if trains_on_words(config.model) else 1)
    torch.set_num_threads(torch_threads(config.threads, device, num_params(job.model), rows))
    lock = rundir.claim(run_dir, config.resume)  # from here on the directory is this run's
    try:
        return _train_claimed(job, listeners, on_claim, swept, overrides)
    except OSError as err:
        if not is_disk_full(err):
            raise
        # Every file is written atomically, so what was there before is whole: say which checkpoint that is.
        kept = (
            f"the checkpoint saved before (step {job.saved_step}) is intact"
            if job.saved_step is not None
            else "no checkpoint had been saved"
        )
        where = err.filename or run_dir
        raise RunDirFull(
            f"cannot write in {where}: {err.strerror or err} (free some space and resume "
            f"with resume=true hydra.run.dir={run_dir}); {kept}"
        ) from None
    finally:
        lock.release()  # the next job of a sweep in this process may be handed the same folder


def _train_claimed(
    job: Job,
    listeners: Sequence[Any],
    on_claim: Callable[[Path], None] | None,
    swept: Sequence[str] | None,
    overrides: Sequence[str],
) -> dict:
    """run_training once the directory is this process's: write, train, finish."""
    config, run_dir, data, device = job.config, job.run_dir, job.data, job.device
    if on_claim is not None:
        on_claim(run_dir)
    record_start(run_dir, mask_secrets(list(overrides)), job.start_step, config.max_steps)
    train_xy = (data.train.X.to(device), data.train.Y.to(device))
    val_xy = (data.val.X.to(device), data.val.Y.to(device))
    record = _start_record(job)
    tracker, watchers = _trackers(job, num_params(job.model), swept)
    live = LiveRecord(record)  # metrics.json follows each evaluation and checkpoint

    def save_checkpoint(step: int) -> None:
        job.save_checkpoint(step, tracker)
        live.checkpoint(step)

    with ProgressBar(config.max_steps, job.start_step, enabled=config.log.progress) as progress:
        try:
            result = train(
                job.model,
                job.optimizer,
                build_run_schedule(config),
                train_xy,
                val_xy,
                _settings(config, device, data.vocab.size),
                listeners=[tracker, progress, live, *watchers, *listeners],
                start_step=job.start_step,
                save_checkpoint=save_checkpoint,
                batches=run_batches(config, data, train_xy),
                averaged=job.averaged,
            )
        except Exception as err:  # a crash mid-run is recorded, then re-raised for the caller
            result = TrainResult("failed", record.steps or 0, 0.0, error=f"{type(err).__name__}: {err}")
            with contextlib.suppress(OSError):  # a full disk may refuse this too: the crash itself is what to tell
                _finish(record, result, tracker)
            raise
    result.extra.update(speed_report(job.model))  # fast path: compile_seconds
    metrics = _finish(record, result, tracker)
    pass_on_signal(result.stop_request)  # under submitit, SIGUSR2 then requeues the job
    return metrics


def _build_job(config: RunConfig, run_dir: Path, data: Dataset, device: torch.device, identity: dict) -> Job:
    """Model and optimizer from the seed, restored from a checkpoint when resuming."""
    within_memory(lambda: torch.manual_seed(config.seed), "random generator")
    model = within_memory(lambda: build_run_model(config, data.vocab.size), "model")
    optimizer = build_run_optimizer(config, model)
    job = Job(
        config,
        run_dir,
        data,
        device,
        model,
        optimizer,
        identity,
        averaged=averaging.weight_average(config.ema_decay, model),
    )
    source = ckpt.resume_source(config.resume, run_dir)
    if source is not None:
        job.start_step, job.tracker_state = ckpt.restore(
            source, job.model, job.optimizer, job.averaged, config, job.data.vocab.chars, job.identity["words_sha256"]
        )
        if source.resolve() == (run_dir / CHECKPOINT_NAME).resolve():
            job.saved_step = job.start_step
    model.to(device)
    if job.averaged is not None:
        job.averaged.to(device)
    job.model = wrap_amp(model, config.amp, device)  # amp=bf16: autocast forward
    return job


def _start_record(job: Job) -> RunRecord:
    """The run's record as it starts: status "running", what it trains, where it began."""
    record = RunRecord(
        job.run_dir,
        status="running",
        model=job.config.model.name,
        params=num_params(job.model),
        device=str(job.device),
        steps=job.start_step,
        max_steps=job.config.max_steps,
        seconds=0.0,
        started_at=now(),
        resumed_from_step=job.start_step or None,
    )
    write_record(record)
    return record


def _trackers(job: Job, params: int, swept: Sequence[str] | None = None) -> tuple[TensorBoardTracker, list[Any]]:
    """The TensorBoard tracker (with its samples) and, with log.diagnostics, the diagnostics."""
    config, log = job.config, job.config.log
    hparams = hparam_values(config, params, exclude=NOT_HPARAMS, option_columns=OPTION_COLUMNS)
    sampler = tensorboard_sampler(job.model, job.data.vocab, job.data.train.words, log.samples, config.seed)
    tracker = TensorBoardTracker(
        rundir.tensorboard_dir(job.run_dir, run_label(list(swept or []))),
        hparams,
        loss_every=log.loss_every,
        smooth_window=log.smooth_window,
        start_step=job.start_step,
        sampler=sampler,
        swept=None if swept is None else override_keys(list(swept)),
    )
    watchers = []
    if log.diagnostics:
        watchers.append(Diagnostics(job.model, tracker.writer, log.diagnostics_every, job.start_step))
    if job.tracker_state is not None:
        tracker.load_state_dict(job.tracker_state)
    return tracker, watchers


def _settings(config: RunConfig, device: torch.device, vocab_size: int) -> TrainSettings:
    return TrainSettings(
        max_steps=config.max_steps,
        batch_size=config.batch_size,
        eval_interval=config.eval_interval,
        checkpoint_interval=config.checkpoint_interval,
        sync_every=1 if device.type == "cpu" else 100,
        divergence=DivergenceCheck.for_vocab(vocab_size, config.diverge_factor),
    )


def _finish(record: RunRecord, result: TrainResult, tracker: TensorBoardTracker) -> dict[str, Any]:
    """The record at the end of the run, written; returned as metrics.json holds it. A pruned
    run keeps the last val loss its live record holds (the one the study judged)."""
    val_loss = record.val_loss if result.status == "pruned" and result.val_loss is None else result.val_loss
    record.update(
        status=result.status,
        steps=result.steps,
        seconds=round(result.seconds, 3),
        train_loss=result.train_loss,
        val_loss=val_loss,
        error=result.error,
        finished_at=now(),
        **result.extra,
    )
    metrics = record.as_json()
    tracker.on_end(metrics)
    write_record(record)
    return metrics
