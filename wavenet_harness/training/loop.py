"""The training loop, top to bottom, with nothing hidden in a framework.

It knows nothing of Hydra, configs or files: it takes a model, an optimizer, a schedule,
a batch source and the data to evaluate on, and reports to listeners (TensorBoard, the
progress bar, pruning) and to an optional `save_checkpoint(step)` callback. Each step
is `inputs = batches.draw(); logits, loss = model(*inputs)`: every model computes its own
loss. With the lecture's window batches (data.WindowBatches) the loop's random draws
are the notebook's, one `torch.randint` per step from the global generator and nothing
else, so a run seeded like the lecture takes the lecture's exact steps.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from wavenet_harness.data import WindowBatches
from wavenet_harness.training.optim import Schedule


class Batches(Protocol):
    def draw(self) -> Sequence[torch.Tensor]: ...  # the arguments of model(...): (inputs, targets, ...)


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
        logits, _ = model(X[start : start + chunk])
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


class _LossBuffer:
    """Train losses on their way to the listeners, read from the device in groups."""

    def __init__(self, listeners: Sequence[Listener]):
        self.listeners = listeners
        self.pending: list[tuple[int, torch.Tensor, float]] = []

    def add(self, step: int, loss: torch.Tensor, lr: float) -> None:
        self.pending.append((step, loss.detach(), lr))

    def __len__(self) -> int:
        return len(self.pending)

    def drain(self) -> bool:
        """Hand buffered losses to listeners; False if any of them is not finite."""
        if not self.pending:
            return True
        values = torch.stack([loss for _, loss, _ in self.pending]).tolist()
        for (s, _, step_lr), value in zip(self.pending, values):
            for listener in self.listeners:
                listener.on_train_loss(s, value, step_lr)
        self.pending.clear()
        return all(math.isfinite(v) for v in values)


def _report_eval(listeners: Sequence[Listener], step: int, val_loss: float) -> None:
    for listener in listeners:
        listener.on_eval(step, val_loss)


def train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    schedule: Schedule,
    train_data: tuple[torch.Tensor, torch.Tensor],
    val_data: tuple[torch.Tensor, torch.Tensor],
    settings: TrainSettings,
    listeners: Sequence[Listener] = (),
    start_step: int = 0,
    save_checkpoint: Callable[[int], None] | None = None,
    batches: Batches | None = None,
) -> TrainResult:
    """Run steps start_step .. max_steps-1; a checkpoint saved at step s resumes at s.

    Batches come from `batches` (default: the lecture's random windows of `train_data`;
    model=conv may train on whole words instead). Evaluation always uses the windows, so
    losses stay comparable across models; the final train loss is over `train_data`.
    """
    batches = batches if batches is not None else WindowBatches(*train_data, settings.batch_size)
    steps = _Steps(model, optimizer, schedule, settings, listeners, save_checkpoint, start_step)
    started = time.perf_counter()
    model.train()
    with _sigint_as_flag() as interrupt_requested:
        try:
            status, error = steps.run(batches, val_data, interrupt_requested)
        except StopTraining as stop:
            status, error = stop.status, (str(stop) if str(stop) != stop.status else None)
    if status != "ok":
        return TrainResult(status, steps.step, time.perf_counter() - started, error=error)
    if save_checkpoint:
        save_checkpoint(steps.step)
    val_loss = evaluate(model, *val_data)
    _report_eval(listeners, steps.step, val_loss)
    train_loss = evaluate(model, *train_data)
    return TrainResult("ok", steps.step, time.perf_counter() - started, train_loss=train_loss, val_loss=val_loss)


class _Steps:
    """The loop's state between steps: the step to run next, the learning rate, the losses."""

    def __init__(self, model, optimizer, schedule, settings: TrainSettings, listeners, save_checkpoint, start_step: int):
        self.model, self.optimizer, self.schedule, self.settings = model, optimizer, schedule, settings
        self.listeners, self.save_checkpoint = listeners, save_checkpoint
        self.step = start_step
        self.lr: float | None = None
        self.losses = _LossBuffer(listeners)
        # Listeners that look inside a step (diagnostics) define on_optimizer_step(step);
        # collected once, so a run without any pays nothing per step.
        self.update_hooks = [x.on_optimizer_step for x in listeners if hasattr(x, "on_optimizer_step")]

    def run(self, batches: Batches, val_data, interrupt_requested: threading.Event) -> tuple[str, str | None]:
        """Steps up to max_steps; (status, error). Listeners may raise StopTraining."""
        settings = self.settings
        while self.step < settings.max_steps:
            if interrupt_requested.is_set():
                self.losses.drain()
                if self.save_checkpoint:
                    self.save_checkpoint(self.step)
                return "interrupted", f"interrupted by Ctrl-C at step {self.step}"
            self.one_step(batches)
            step = self.step
            at_end = step == settings.max_steps
            if (len(self.losses) >= settings.sync_every or at_end) and not self.losses.drain():
                return "diverged", f"loss became NaN or infinite by step {step}"
            if settings.eval_interval and step % settings.eval_interval == 0 and not at_end:
                self.losses.drain()
                _report_eval(self.listeners, step, evaluate(self.model, *val_data))
            if self.save_checkpoint and settings.checkpoint_interval and step % settings.checkpoint_interval == 0:
                if not at_end:
                    self.save_checkpoint(step)
        return "ok", None

    def one_step(self, batches: Batches) -> None:
        new_lr = self.schedule(self.step)
        if new_lr != self.lr:
            self.lr = new_lr
            _set_lr(self.optimizer, new_lr)
        _, loss = self.model(*batches.draw())  # every model computes its own loss
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        for hook in self.update_hooks:
            hook(self.step)
        self.losses.add(self.step, loss, self.lr)
        self.step += 1
