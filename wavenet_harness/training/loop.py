"""The training loop, top to bottom, with nothing hidden in a framework.

It knows nothing of Hydra or files: it takes a model, an optimizer, a schedule and the
data, and reports to listeners (TensorBoard, the progress bar, pruning) and to an
optional `save_checkpoint(step)` callback. Its random draws are the notebook's: one
`torch.randint` per step from the global generator, nothing else, so a run seeded like
the lecture takes the lecture's exact steps.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from wavenet_harness.training.optim import Schedule


class Listener(Protocol):
    def on_train_loss(self, step: int, loss: float, lr: float) -> None: ...
    def on_eval(self, step: int, val_loss: float) -> None: ...


class StopTraining(Exception):
    """Raised by a listener to end a run early with a status (e.g. 'pruned')."""

    def __init__(self, status: str, message: str = ""):
        super().__init__(message or status)
        self.status = status


@dataclass
class TrainSettings:
    max_steps: int
    batch_size: int
    eval_interval: int = 0  # 0: evaluate only at the end
    checkpoint_interval: int = 0  # 0: checkpoint only at the end
    # On CPU reading the loss every step costs nothing; on a GPU it forces a sync, so
    # losses are gathered on the device and read in groups.
    sync_every: int = 1


@dataclass
class TrainResult:
    status: str  # ok | diverged | interrupted | pruned | failed
    steps: int  # steps completed
    seconds: float
    train_loss: float | None = None
    val_loss: float | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, Y: torch.Tensor, chunk: int = 65536) -> float:
    """Mean cross-entropy over a whole split, in eval mode (batchnorm's running stats)."""
    was_training = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=X.device)
    for start in range(0, X.shape[0], chunk):
        logits = model(X[start : start + chunk])
        total += F.cross_entropy(logits.float(), Y[start : start + chunk], reduction="sum").double()
    model.train(was_training)
    return (total / X.shape[0]).item()


@contextlib.contextmanager
def _sigint_as_flag():
    """Turn Ctrl-C into a flag checked between steps, so no step is left half done."""
    requested = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield requested
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: requested.set())
    try:
        yield requested
    finally:
        signal.signal(signal.SIGINT, previous)


def _set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    schedule: Schedule,
    train_data: tuple[torch.Tensor, torch.Tensor],
    val_data: tuple[torch.Tensor, torch.Tensor],
    settings: TrainSettings,
    listeners: list[Listener] = (),
    start_step: int = 0,
    save_checkpoint: Callable[[int], None] | None = None,
    batch_loss: Callable[[nn.Module], torch.Tensor] | None = None,
) -> TrainResult:
    """Run steps start_step .. max_steps-1; a checkpoint saved at step s resumes at s.

    `batch_loss(model)` replaces the lecture's batches of random windows with another
    batch source (conv.WordBatches: whole words, every position); validation still uses
    the windows, so losses stay comparable across models.
    """
    Xtr, Ytr = train_data
    Xval, Yval = val_data
    n_train = Xtr.shape[0]
    # Listeners that look inside a step (diagnostics) define on_optimizer_step(step);
    # collected once, so a run without any pays nothing per step.
    update_hooks = [listener.on_optimizer_step for listener in listeners if hasattr(listener, "on_optimizer_step")]
    device = Xtr.device
    model.train()
    started = time.perf_counter()
    pending: list[tuple[int, torch.Tensor, float]] = []
    step = start_step
    lr = None

    def drain() -> bool:
        """Hand buffered losses to listeners; False if any of them is not finite."""
        values = torch.stack([loss for _, loss, _ in pending]).tolist()
        for (s, _, step_lr), value in zip(pending, values):
            for listener in listeners:
                listener.on_train_loss(s, value, step_lr)
        pending.clear()
        return all(math.isfinite(v) for v in values)

    def result(status: str, **kwargs) -> TrainResult:
        return TrainResult(status, step, time.perf_counter() - started, **kwargs)

    with _sigint_as_flag() as interrupt_requested:
        try:
            while step < settings.max_steps:
                if interrupt_requested.is_set():
                    if pending:
                        drain()
                    if save_checkpoint:
                        save_checkpoint(step)
                    return result("interrupted", error=f"interrupted by Ctrl-C at step {step}")

                new_lr = schedule(step)
                if new_lr != lr:
                    lr = new_lr
                    _set_lr(optimizer, lr)

                if batch_loss is None:  # the lecture's: B random windows, one randint
                    ix = torch.randint(0, n_train, (settings.batch_size,), device=device)
                    logits = model(Xtr[ix])
                    loss = F.cross_entropy(logits, Ytr[ix])
                else:
                    loss = batch_loss(model)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                for hook in update_hooks:
                    hook(step)
                pending.append((step, loss.detach(), lr))
                step += 1

                at_end = step == settings.max_steps
                if (len(pending) >= settings.sync_every or at_end) and not drain():
                    return result("diverged", error=f"loss became NaN or infinite by step {step}")
                if settings.eval_interval and step % settings.eval_interval == 0 and not at_end:
                    if pending:
                        drain()
                    val_loss = evaluate(model, Xval, Yval)
                    for listener in listeners:
                        listener.on_eval(step, val_loss)
                if save_checkpoint and settings.checkpoint_interval and step % settings.checkpoint_interval == 0:
                    if not at_end:
                        save_checkpoint(step)
        except StopTraining as stop:
            return result(stop.status, error=str(stop) if str(stop) != stop.status else None)

    if save_checkpoint:
        save_checkpoint(step)
    val_loss = evaluate(model, Xval, Yval)
    for listener in listeners:
        listener.on_eval(step, val_loss)
    train_loss = evaluate(model, Xtr, Ytr)
    return result("ok", train_loss=train_loss, val_loss=val_loss)
