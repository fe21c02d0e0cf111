"""TensorBoard events: the listener that writes a run's curves, samples and HParams session.

TensorBoard tags are a contract other tools read; their names (base/metrics.py declares
each once) sort so that the val loss comes first in TensorBoard's Time Series:
  loss/val              the validation split's loss, every eval_interval steps and at the
                        end, held between evaluations and for a short tail after the last
                        step (`HeldCurve`), so that TensorBoard's default smoothing ends
                        every run's line on its true last value
  loss/val_best         the lowest val loss so far, held the same way (`ValBestCurve`)
  loss/whole_train      the whole training split's loss (eval mode), once at the end (a
                        pruned job's too, at the step it stopped)
  minibatch/loss        the training minibatch's loss, every `log.loss_every` steps
  minibatch/loss_smooth mean over consecutive non-overlapping windows of
                        `log.smooth_window` steps (the lecture's
                        `torch.tensor(lossi).view(-1, 1000).mean(1)`), logged at each
                        window's last step; a partial window at the end
  opt/lr                the learning rate every `log.loss_every` steps, plus the last step
                        before and the first step after each jump, so a step schedule is
                        drawn as a step and a cosine as a curve (not `lr`: that name is the
                        hyperparameter's, and HParams would draw two `lr` axes)
  samples               text: a few names sampled at each evaluation (`tensorboard_sampler`)
  network/...           with log.diagnostics=true (see diagnostics.py)
Runs written before these names have loss/train, loss/train_smooth and loss/train_split
instead (base/metrics.py: RENAMED_TAGS).

HParams sessions and the sweep's experiment: tracking/hparams.py, in their own event file
(tracking/hparams_file.py); the derived curves (smoothed, held, lr): tracking/derived_curves.py.

`check_log` holds the rules of the `log` section's values (its keys: base/run_config.py). Tracking only listens: nothing
here draws from the global random generator or changes what the loop computes; it knows
nothing of the loop's internals, of Hydra or of the command line.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import text as text_summary

from wavenet_harness.base.data import Vocabulary
from wavenet_harness.base.errors import ConfigError
from wavenet_harness.base.metrics import (
    LEARNING_RATE,
    MINIBATCH_LOSS,
    MINIBATCH_SMOOTH,
    SAMPLES,
    TRAIN_SPLIT_LOSS,
    VAL_BEST,
    VAL_LOSS,
)
from wavenet_harness.base.run_config import LogOptions
from wavenet_harness.models.sampling import generate
from wavenet_harness.tracking.derived_curves import HeldCurve, LearningRateCurve, LossSmoother, Point, ValBestCurve
from wavenet_harness.tracking.hparams import STATUS, experiment_summary, session_end_summary, session_start_summary
from wavenet_harness.tracking.hparams_file import write_hparams_file

LR_TAG = LEARNING_RATE


class TensorBoardTracker:
    """Listens to the trainer and writes the contract's tags into `<run dir>/tb`.

    `swept`: the keys a sweep varies, for a job of a sweep (it then writes the HParams
    experiment); None for a single run.
    """

    def __init__(
        self,
        log_dir: str | os.PathLike,
        hparams: dict[str, Any],
        loss_every: int = 10,
        smooth_window: int = 1000,
        start_step: int = 0,
        sampler: Callable[[int], str] | None = None,
        swept: Sequence[str] | None = None,
    ):
        # purge_step drops events a killed run wrote past its last checkpoint, so a
        # resumed run's curves do not double back on themselves.
        self.writer = SummaryWriter(str(log_dir), purge_step=start_step or None)
        self.log_dir = log_dir
        self.hparams = {**hparams, STATUS: "running"}
        self.loss_every = max(1, loss_every)
        self.smoother = LossSmoother(max(1, smooth_window))
        self.last_step = start_step - 1
        self.lr_curve = LearningRateCurve()
        self.val = HeldCurve()
        self.val_best = ValBestCurve()
        # sampler(step) -> markdown text of a few sampled names, written at each evaluation.
        self.sampler = sampler
        self.experiment = None if swept is None else experiment_summary(self.hparams, list(swept))
        self.start_time = time.time()
        # Written at the start, so a job that is still running (or dies) has its HParams row.
        self._write_hparams("running")

    def _write_hparams(self, status: str, end: Any = None) -> None:
        """The run's HParams file: the experiment (a job of a sweep), the session start with
        `status`, and `end` (a session end) once the run has ended."""
        start = session_start_summary({**self.hparams, STATUS: status}, self.start_time)
        summaries = [s for s in (self.experiment, start, end) if s is not None]
        write_hparams_file(self.log_dir, summaries, self.start_time)

    def on_train_loss(self, step: int, loss: float, lr: float) -> None:
        for lr_step, value in self.lr_curve.points(step, lr, step % self.loss_every == 0):
            self.writer.add_scalar(LR_TAG, value, lr_step)
        if step % self.loss_every == 0:
            self.writer.add_scalar(MINIBATCH_LOSS, loss, step)
        if math.isfinite(loss):
            smooth = self.smoother.add(loss)
            if smooth is not None:
                self.writer.add_scalar(MINIBATCH_SMOOTH, smooth, step)
        self.last_step = step

    def on_metrics(self, step: int, metrics: Mapping[str, float]) -> None:
        now = time.time()
        for tag, value in metrics.items():  # each metric under its own name (its tag)
            if tag != VAL_LOSS:
                self.writer.add_scalar(tag, value, step)
        if VAL_LOSS in metrics:
            for tag, curve in ((VAL_LOSS, self.val), (VAL_BEST, self.val_best)):
                self._write_points(tag, curve.points(step, metrics[VAL_LOSS], now))
        if self.sampler is not None:
            summary = text_summary(SAMPLES, self.sampler(step))
            summary.value[0].tag = SAMPLES  # torch would append "/text_summary"
            self.writer._get_file_writer().add_summary(summary, step)
        self.writer.flush()

    def on_end(self, metrics: dict[str, Any]) -> None:
        status = metrics.get("status", "ok")
        # An interrupted run's checkpoint carries its half-full window on; flushing it
        # here would leave a stray partial point in the resumed run's curve.
        tail = self.smoother.flush() if status != "interrupted" else None
        if tail is not None:
            self.writer.add_scalar(MINIBATCH_SMOOTH, tail, self.last_step)
        last_lr = self.lr_curve.last_point()
        if last_lr is not None:
            self.writer.add_scalar(LR_TAG, last_lr[1], last_lr[0])
        if status != "interrupted":  # a resumed run goes on from its checkpoint's curves
            for tag, curve in ((VAL_LOSS, self.val), (VAL_BEST, self.val_best)):
                self._write_points(tag, curve.end_points(self.last_step))
        if metrics.get("train_loss") is not None:
            step = max(int(metrics.get("steps") or 0), 0)
            self.writer.add_scalar(TRAIN_SPLIT_LOSS, float(metrics["train_loss"]), step)
        end = session_end_summary(status, time.time())
        self.writer._get_file_writer().add_summary(end)  # a TensorBoard already running sees this one
        self.writer.close()
        self._write_hparams(status, end)

    def _write_points(self, tag: str, points: Sequence[Point]) -> None:
        for step, value, wall_time in points:
            self.writer.add_scalar(tag, value, step, walltime=wall_time)

    def state_dict(self) -> dict:
        return {
            "smoother": self.smoother.state_dict(),
            "last_lr": self.lr_curve.lr,
            "lr_curve": self.lr_curve.state_dict(),
            "val": self.val.state_dict(),
            "val_best": self.val_best.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.smoother.load_state_dict(state["smoother"])
        self.lr_curve.load_state_dict(state.get("lr_curve") or {"lr": state.get("last_lr")})
        self.val.load_state_dict(state.get("val") or {})
        self.val_best.load_state_dict(state.get("val_best") or {})

    def close(self) -> None:
        self.writer.close()


def samples_markdown(words: list[str], known: set[str]) -> str:
    """A markdown list for TensorBoard's text tab; words not in `known` are marked new."""
    return "\n".join(f"- {word}" + (" *(new)*" if word not in known else "") for word in words)


def tensorboard_sampler(
    model: torch.nn.Module, vocab: Vocabulary, train_words: list[str], n: int, seed: int
) -> Callable[[int], str] | None:
    """step -> markdown of `n` names for the `samples` text tag; None when n is 0.

    Each evaluation gets its own generator seeded from (seed, step), so the samples at a
    step are the same whether or not the run was resumed on the way.
    """
    if not n:
        return None
    known = set(train_words)

    def sample_at(step: int) -> str:
        generator = torch.Generator().manual_seed(seed * 1_000_003 + step)
        return samples_markdown(generate(model, vocab, n, generator=generator), known)

    return sample_at


# Names sampled per evaluation: a screen of text in TensorBoard. Far more would stall every
# evaluation (minutes for a large model) for text nobody reads.
MAX_SAMPLES = 1000


def check_log(log: LogOptions) -> None:
    """What is logged never changes training, but a zero or negative interval cannot work."""
    for name, smallest in (("loss_every", 1), ("smooth_window", 1), ("diagnostics_every", 1), ("samples", 0)):
        value = getattr(log, name)
        if value < smallest:
            what = "a positive whole number" if smallest else "a whole number >= 0"
            raise ConfigError(f"log.{name}={value!r} is not allowed: it must be {what}")
    if log.samples > MAX_SAMPLES:
        raise ConfigError(
            f"log.samples={log.samples} is not allowed: at most {MAX_SAMPLES} names per evaluation "
            "(they are TensorBoard text; use wavenet-sample RUN -n N for many)"
        )
