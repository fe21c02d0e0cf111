"""Run outputs that only listen to the trainer: TensorBoard events and metrics.json.

TensorBoard tags are a contract other tools read:
  train/loss         minibatch loss, every `log.loss_every` steps
  train/loss_smooth  mean over consecutive non-overlapping windows of `log.smooth_window`
                     steps (the lecture's `torch.tensor(lossi).view(-1, 1000).mean(1)`),
                     logged at each window's last step; a partial window at the end
  train/lr           whenever the learning rate changes
  val/loss           every eval_interval steps and at the end
  hparams/val_loss, hparams/train_loss   the HParams dashboard's metrics
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams as hparams_summary


def write_json_atomic(path: str | os.PathLike, payload: dict) -> None:
    """Write JSON via a temporary file and rename, so readers never see half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(payload, f, indent=2, sort_keys=True, allow_nan=True)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
                 smooth_window: int = 1000, start_step: int = 0):
        # purge_step drops events a killed run wrote past its last checkpoint, so a
        # resumed run's curves do not double back on themselves.
        self.writer = SummaryWriter(str(log_dir), purge_step=start_step or None)
        self.hparams = hparams
        self.loss_every = max(1, loss_every)
        self.smoother = LossSmoother(max(1, smooth_window))
        self.last_step = start_step - 1
        self.last_lr: float | None = None

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
        self.writer.flush()

    def on_end(self, metrics: dict[str, Any]) -> None:
        tail = self.smoother.flush()
        if tail is not None:
            self.writer.add_scalar("train/loss_smooth", tail, self.last_step)
        final = {
            "hparams/val_loss": _finite_or_nan(metrics.get("val_loss")),
            "hparams/train_loss": _finite_or_nan(metrics.get("train_loss")),
        }
        hparams = dict(self.hparams, params=metrics.get("params", 0))
        exp, ssi, sei = hparams_summary(hparams, final)
        file_writer = self.writer._get_file_writer()
        for summary in (exp, ssi, sei):
            file_writer.add_summary(summary)
        for tag, value in final.items():
            self.writer.add_scalar(tag, value, max(self.last_step, 0))
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
