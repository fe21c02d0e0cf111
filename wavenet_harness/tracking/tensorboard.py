"""Run outputs that only listen to the trainer: TensorBoard events and metrics.json.

TensorBoard tags are a contract other tools read:
  train/loss         minibatch loss, every `log.loss_every` steps
  train/loss_smooth  mean over consecutive non-overlapping windows of `log.smooth_window`
                     steps (the lecture's `torch.tensor(lossi).view(-1, 1000).mean(1)`),
                     logged at each window's last step; a partial window at the end
  train/lr           whenever the learning rate changes
  val/loss           every eval_interval steps and at the end
  hparams/val_loss, hparams/train_loss   the HParams dashboard's metrics (val at every
                     evaluation, so a running sweep already shows in the HParams tab)
  samples            text: a few names sampled at each evaluation (`tensorboard_sampler`)
  diagnostics/...    with log.diagnostics=true (see diagnostics.py)

HParams: every job writes the same flat set of hyperparameters (`hparam_values`) when it
starts and its end status when it finishes, so the HParams tab pointed at a multirun
directory shows one row per job.

`check_log` holds the rules of the `log` config group. Tracking only listens: nothing
here draws from the global random generator or changes what the loop computes; it knows
nothing of the loop's internals, of Hydra or of the command line.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable

import torch

from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.plugins.hparams.api_pb2 import Status
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData, SessionEndInfo
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams as hparams_summary
from torch.utils.tensorboard.summary import text as text_summary

from wavenet_harness.errors import ConfigError, is_int
from wavenet_harness.data import Vocabulary
from wavenet_harness.models.sampling import generate

HPARAM_METRICS = ("hparams/val_loss", "hparams/train_loss")
CONFIG_GROUPS = ("model", "optim", "schedule")
# The HParams plugin knows success, failure and unknown: a stopped run (to be resumed, or
# pruned by a sweeper) is neither a success nor a failure.
SESSION_STATUS = {"ok": "STATUS_SUCCESS", "interrupted": "STATUS_UNKNOWN", "pruned": "STATUS_UNKNOWN"}


def flatten_hparams(tree: dict, prefix: str = "") -> dict[str, Any]:
    """Nested config -> {'a.b': scalar}; lists become strings so TensorBoard accepts them."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_hparams(value, name + "."))
        elif value is None:
            flat[name] = "none"
        elif isinstance(value, (bool, int, float, str)):
            flat[name] = value
        else:
            flat[name] = str(value)
    return flat


def hparam_values(cfg: dict[str, Any], params: int, exclude=(), option_columns: dict[str, Any] | None = None) -> dict[str, Any]:
    """The flat hyperparameters a job reports to the HParams tab; the same keys for every job.

    Every top-level scalar and plain section (data.*) of the config, the chosen model,
    optimizer and schedule by name, the params count and `option_columns`: the HParams tab
    takes its columns from one job's summary, so options that only some choices of a
    config group have ({'optim.momentum': 0.0, ...}, declared by their owners) are filled
    with the value that means "off" where the chosen option lacks them.
    """
    values: dict[str, Any] = {}
    for key, value in cfg.items():
        if key in exclude:
            continue
        if key in CONFIG_GROUPS and isinstance(value, dict):
            values[key] = str(value.get("name"))
        else:
            values.update(flatten_hparams({key: value}))
    everything = flatten_hparams(cfg)
    for key, off in (option_columns or {}).items():
        values[key] = everything.get(key, off)
    values["params"] = params
    return values


def _session_end_summary(status: str) -> Summary:
    """The HParams plugin's end-of-session record (torch's helper always says success)."""
    info = SessionEndInfo(status=Status.Value(SESSION_STATUS.get(status, "STATUS_FAILURE")))
    content = HParamsPluginData(session_end_info=info, version=hparams_metadata.PLUGIN_DATA_VERSION)
    plugin = SummaryMetadata.PluginData(plugin_name=hparams_metadata.PLUGIN_NAME, content=content.SerializeToString())
    value = Summary.Value(tag=hparams_metadata.SESSION_END_INFO_TAG, metadata=SummaryMetadata(plugin_data=plugin))
    return Summary(value=[value])


class LossSmoother:
    """Means over consecutive non-overlapping windows of `window` losses."""

    def __init__(self, window: int):
        self.window = window
        self.total = 0.0
        self.count = 0

    def add(self, loss: float) -> float | None:
        """Add one loss; return the window's mean when this loss completes a window."""
        self.total += loss
        self.count += 1
        if self.count == self.window:
            return self.flush()
        return None

    def flush(self) -> float | None:
        if self.count == 0:
            return None
        mean = self.total / self.count
        self.total, self.count = 0.0, 0
        return mean

    def state_dict(self) -> dict:
        return {"total": self.total, "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.total, self.count = float(state["total"]), int(state["count"])


class TensorBoardTracker:
    """Listens to the trainer and writes the contract's tags into `<run dir>/tb`."""

    def __init__(self, log_dir: str | os.PathLike, hparams: dict[str, Any], loss_every: int = 10,
                 smooth_window: int = 1000, start_step: int = 0,
                 sampler: Callable[[int], str] | None = None):
        # purge_step drops events a killed run wrote past its last checkpoint, so a
        # resumed run's curves do not double back on themselves.
        self.writer = SummaryWriter(str(log_dir), purge_step=start_step or None)
        self.hparams = hparams
        self.loss_every = max(1, loss_every)
        self.smoother = LossSmoother(max(1, smooth_window))
        self.last_step = start_step - 1
        self.last_lr: float | None = None
        self.last_val_loss: float | None = None
        # sampler(step) -> markdown text of a few sampled names, written at each evaluation.
        self.sampler = sampler
        # Written at the start, so a job that is still running (or dies) has its HParams row.
        experiment, session_start, _ = hparams_summary(hparams, {tag: 0.0 for tag in HPARAM_METRICS})
        file_writer = self.writer._get_file_writer()
        file_writer.add_summary(experiment)
        file_writer.add_summary(session_start)

    def on_train_loss(self, step: int, loss: float, lr: float) -> None:
        if lr != self.last_lr:
            self.writer.add_scalar("train/lr", lr, step)
            self.last_lr = lr
        if step % self.loss_every == 0:
            self.writer.add_scalar("train/loss", loss, step)
        if math.isfinite(loss):
            smooth = self.smoother.add(loss)
            if smooth is not None:
                self.writer.add_scalar("train/loss_smooth", smooth, step)
        self.last_step = step

    def on_eval(self, step: int, val_loss: float) -> None:
        self.writer.add_scalar("val/loss", val_loss, step)
        self.writer.add_scalar("hparams/val_loss", val_loss, step)
        self.last_val_loss = val_loss
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
            self.writer.add_scalar("train/loss_smooth", tail, self.last_step)
        step = max(int(metrics.get("steps") or 0), 0)
        val_loss = _finite_or_nan(metrics.get("val_loss"))
        if val_loss != self.last_val_loss:  # NaN for a run that ended without a final evaluation
            self.writer.add_scalar("hparams/val_loss", val_loss, step)
        self.writer.add_scalar("hparams/train_loss", _finite_or_nan(metrics.get("train_loss")), step)
        self.writer._get_file_writer().add_summary(_session_end_summary(status))
        self.writer.close()

    def state_dict(self) -> dict:
        return {"smoother": self.smoother.state_dict(), "last_lr": self.last_lr}

    def load_state_dict(self, state: dict) -> None:
        self.smoother.load_state_dict(state["smoother"])
        self.last_lr = state["last_lr"]

    def close(self) -> None:
        self.writer.close()


def _finite_or_nan(value) -> float:
    return float(value) if value is not None else float("nan")


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


def check_log(log: dict[str, Any]) -> None:
    """What is logged never changes training, but a zero or negative interval cannot work."""
    for key, smallest in (("loss_every", 1), ("smooth_window", 1), ("diagnostics_every", 1), ("samples", 0)):
        value = log.get(key, smallest)
        if not is_int(value) or value < smallest:
            what = "a positive whole number" if smallest else "a whole number >= 0"
            raise ConfigError(f"log.{key}={value!r} is not allowed: it must be {what}")
    for key in ("progress", "diagnostics"):
        if not isinstance(log.get(key, False), bool):
            raise ConfigError(f"log.{key}={log[key]!r} is not allowed: it must be true or false")
