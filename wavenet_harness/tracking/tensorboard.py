"""TensorBoard events: the listener that writes a run's curves, samples and HParams session.

TensorBoard tags are a contract other tools read; their names sort so that the loss
curves come first in TensorBoard's Time Series:
  loss/train         minibatch loss, every `log.loss_every` steps
  loss/train_smooth  mean over consecutive non-overlapping windows of `log.smooth_window`
                     steps (the lecture's `torch.tensor(lossi).view(-1, 1000).mean(1)`),
                     logged at each window's last step; a partial window at the end
  loss/train_split   the whole training split's loss (eval mode), once at the end (a
                     pruned job's too, at the step it stopped)
  loss/val           the validation split's loss, every eval_interval steps and at the end
  loss/val_best      the lowest val loss so far, held between evaluations and for a short
                     tail after the last step (`ValBestCurve`), so that TensorBoard's
                     default smoothing ends every run's line on its true best value
  opt/lr             the learning rate every `log.loss_every` steps, plus the last step
                     before and the first step after each jump, so a step schedule is
                     drawn as a step and a cosine as a curve (not `lr`: that name is the
                     hyperparameter's, and HParams would draw two `lr` axes)
  samples            text: a few names sampled at each evaluation (`tensorboard_sampler`)
  network/...        with log.diagnostics=true (see diagnostics.py)

HParams sessions and the sweep's experiment: tracking/hparams.py; the derived curves
(smoothed, best so far, lr): tracking/derived_curves.py.

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
from wavenet_harness.base.metrics import VAL_LOSS
from wavenet_harness.base.run_config import LogOptions
from wavenet_harness.models.sampling import generate
from wavenet_harness.tracking.derived_curves import LearningRateCurve, LossSmoother, ValBestCurve
from wavenet_harness.tracking.hparams import (
    VAL_BEST_TAG,
    experiment_summary,
    session_end_summary,
    session_start_summary,
)

LR_TAG = "opt/lr"


class TensorBoardTracker:
    """Listens to the trainer and writes the contract's tags into `<run dir>/tb`.

    `swept`: the keys a sweep varies, for a job of a sweep (it then writes the HParams
    experiment); None for a single run.
    """

    def __init__(self, log_dir: str | os.PathLike, hparams: dict[str, Any], loss_every: int = 10,
                 smooth_window: int = 1000, start_step: int = 0,
                 sampler: Callable[[int], str] | None = None, swept: Sequence[str] | None = None):
        # purge_step drops events a killed run wrote past its last checkpoint, so a
        # resumed run's curves do not double back on themselves.
        self.writer = SummaryWriter(str(log_dir), purge_step=start_step or None)
        self.hparams = hparams
        self.loss_every = max(1, loss_every)
        self.smoother = LossSmoother(max(1, smooth_window))
        self.last_step = start_step - 1
        self.lr_curve = LearningRateCurve()
        self.val_best = ValBestCurve()
        # sampler(step) -> markdown text of a few sampled names, written at each evaluation.
        self.sampler = sampler
        # Written at the start, so a job that is still running (or dies) has its HParams row.
        file_writer = self.writer._get_file_writer()
        if swept is not None:
            file_writer.add_summary(experiment_summary(hparams, list(swept)))
        file_writer.add_summary(session_start_summary(hparams, time.time()))

    def on_train_loss(self, step: int, loss: float, lr: float) -> None:
        for lr_step, value in self.lr_curve.points(step, lr, step % self.loss_every == 0):
            self.writer.add_scalar(LR_TAG, value, lr_step)
        if step % self.loss_every == 0:
            self.writer.add_scalar("loss/train", loss, step)
        if math.isfinite(loss):
            smooth = self.smoother.add(loss)
            if smooth is not None:
                self.writer.add_scalar("loss/train_smooth", smooth, step)
        self.last_step = step

    def on_metrics(self, step: int, metrics: Mapping[str, float]) -> None:
        for tag, value in metrics.items():  # each metric under its own name (its tag)
            self.writer.add_scalar(tag, value, step)
        if VAL_LOSS in metrics:
            for best_step, best in self.val_best.points(step, metrics[VAL_LOSS]):
                self.writer.add_scalar(VAL_BEST_TAG, best, best_step)
        if self.sampler is not None:
            summary = text_summary("samples", self.sampler(step))
            summary.value[0].tag = "samples"  # torch would append "/text_summary"
            self.writer._get_file_writer().add_summary(summary, step)
        self.writer.flush()

    def on_end(self, metrics: dict[str, Any]) -> None:
        status = metrics.get("status", "ok")
        # An interrupted run's checkpoint carries its half-full window on; flushing it
        # here would leave a stray partial point in the resumed run's curve.
        tail = self.smoother.flush() if status != "interrupted" else None
        if tail is not None:
            self.writer.add_scalar("loss/train_smooth", tail, self.last_step)
        last_lr = self.lr_curve.last_point()
        if last_lr is not None:
            self.writer.add_scalar(LR_TAG, last_lr[1], last_lr[0])
        if status != "interrupted":  # a resumed run goes on from its checkpoint's best
            for best_step, best in self.val_best.end_points(self.last_step):
                self.writer.add_scalar(VAL_BEST_TAG, best, best_step)
        if metrics.get("train_loss") is not None:
            step = max(int(metrics.get("steps") or 0), 0)
            self.writer.add_scalar("loss/train_split", float(metrics["train_loss"]), step)
        self.writer._get_file_writer().add_summary(session_end_summary(status, time.time()))
        self.writer.close()

    def state_dict(self) -> dict:
        return {
            "smoother": self.smoother.state_dict(),
            "last_lr": self.lr_curve.lr,
            "lr_curve": self.lr_curve.state_dict(),
            "val_best": self.val_best.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.smoother.load_state_dict(state["smoother"])
        self.lr_curve.load_state_dict(state.get("lr_curve") or {"lr": state.get("last_lr")})
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
        raise ConfigError(f"log.samples={log.samples} is not allowed: at most {MAX_SAMPLES} names per evaluation "
                          "(they are TensorBoard text; use wavenet-sample RUN -n N for many)")
