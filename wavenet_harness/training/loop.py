"""The training loop, top to bottom, with nothing hidden in a framework.

It knows nothing of Hydra, configs or files: it takes a model, an optimizer, a schedule,
a batch source and the data to evaluate on, and reports to listeners (TensorBoard, the
progress bar, pruning) and to an optional `save_checkpoint(step)` callback. Each step
is `inputs = batches.draw(); logits, loss = model(*inputs)`: every model computes its own
loss. With the lecture's window batches (base/data.py's WindowBatches) the loop's random draws
are the notebook's, one `torch.randint` per step from the global generator and nothing
else, so a run seeded like the lecture takes the lecture's exact steps.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn

from wavenet_harness.base import interrupts
from wavenet_harness.base.data import WindowBatches
from wavenet_harness.base.metrics import VAL_LOSS
from wavenet_harness.training.averaging import WeightAverage
from wavenet_harness.training.divergence import DivergenceCheck
from wavenet_harness.training.evaluation import EvalSplit, evaluate_split
from wavenet_harness.training.optim import Schedule, is_plain_sgd, unwrapped_step
from wavenet_harness.training.stop_signals import StopRequest, stop_signals_as_flag


class Batches(Protocol):
    def draw(self) -> Sequence[torch.Tensor]: ...  # the arguments of model(...): (inputs, targets, ...)


class Listener(Protocol):
    def on_train_loss(self, step: int, loss: float, lr: float) -> None: ...
    # An evaluation's metrics as one event ({VAL_LOSS: ...}): a new metric is one more entry.
    def on_metrics(self, step: int, metrics: Mapping[str, float]) -> None: ...


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
    divergence: DivergenceCheck | None = None  # None: only NaN and infinity stop a run


@dataclass
class TrainResult:
    status: str  # ok | diverged | interrupted | pruned | failed
    steps: int  # steps completed
    seconds: float
    train_loss: float | None = None
    val_loss: float | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    stop_request: Any = None  # interrupted: the StopRequest (which signal, the handlers it replaced)


def _set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


class _LossBuffer:
    """Train losses on their way to the listeners, read from the device in groups."""

    def __init__(self, listeners: Sequence[Listener], divergence: DivergenceCheck | None = None):
        self.listeners = listeners
        self.pending: list[tuple[int, torch.Tensor, float]] = []
        self.divergence = divergence or DivergenceCheck(math.inf)

    def add(self, step: int, loss: torch.Tensor, lr: float) -> None:
        self.pending.append((step, loss.detach(), lr))

    def __len__(self) -> int:
        return len(self.pending)

    def drain(self) -> str | None:
        """Hand buffered losses to listeners; why the run diverged, if it did."""
        if not self.pending:
            return None
        if len(self.pending) == 1:  # CPU, read every step: no stack needed
            values = [self.pending[0][1].item()]
        else:
            values = torch.stack([loss for _, loss, _ in self.pending]).tolist()
        for (s, _, step_lr), value in zip(self.pending, values, strict=True):
            for listener in self.listeners:
                listener.on_train_loss(s, value, step_lr)
        steps = [s for s, _, _ in self.pending]
        self.pending.clear()
        if not all(math.isfinite(v) for v in values):
            return f"loss became NaN or infinite by step {steps[-1] + 1}"
        if any([self.divergence.add(s, v) for s, v in zip(steps, values, strict=True)]):
            return self.divergence.message(steps[-1] + 1)
        return None


def _report_eval(listeners: Sequence[Listener], step: int, val_loss: float) -> None:
    metrics = {VAL_LOSS: val_loss}
    for listener in listeners:
        listener.on_metrics(step, metrics)


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
    averaged: WeightAverage | None = None,
) -> TrainResult:
    """Run steps start_step .. max_steps-1; a checkpoint saved at step s resumes at s.

    Batches come from `batches` (default: the lecture's random windows of `train_data`;
    model=conv may train on whole words instead). Evaluation always scores the windows, so
    losses stay comparable across models (models that read words score them a word at a
    time: the same number, cheaper); the final train loss is over `train_data`. With
    `averaged` (ema_decay > 0) every evaluation, listener and result scores the average of
    the weights, updated after each step; the raw weights' final val loss is `val_loss_raw`.
    """
    batches = batches if batches is not None else WindowBatches(*train_data, settings.batch_size)
    steps = _Steps(model, optimizer, schedule, settings, listeners, save_checkpoint, start_step, averaged)
    started = time.perf_counter()
    val_split = EvalSplit.of(*val_data)  # prepared once, evaluated every eval_interval
    model.train()
    with stop_signals_as_flag() as interrupt_requested:
        try:
            status, error = steps.run(batches, val_split, interrupt_requested)
        except StopTraining as stop:
            status, error = stop.status, (str(stop) if str(stop) != stop.status else None)
        if status == "ok":
            status, error, losses = steps.score_end(val_split, train_data, interrupt_requested)
            if status == "ok":
                return steps.result("ok", time.perf_counter() - started, **losses)
        if status == "interrupted":
            stopped = steps.result(status, time.perf_counter() - started, error=error)
            stopped.extra["signal"] = interrupt_requested.name
            stopped.stop_request = interrupt_requested
            return stopped
        if status == "pruned":
            # A pruned run stopped on its own and its model is sound: its whole-split train
            # loss at that step sits beside its last val loss (HParams draws a job only
            # when it has every metric it shows).
            try:
                train_loss = steps.evaluate(EvalSplit.of(*train_data))
            except interrupts.Interrupted:  # stopped while scoring: still pruned, without it
                train_loss = None
            return steps.result(status, time.perf_counter() - started, train_loss=train_loss, error=error)
        return steps.result(status, time.perf_counter() - started, error=error)


class _Steps:
    """The loop's state between steps: the step to run next, the learning rate, the losses."""

    def __init__(
        self,
        model,
        optimizer,
        schedule,
        settings: TrainSettings,
        listeners,
        save_checkpoint,
        start_step: int,
        averaged: WeightAverage | None = None,
    ):
        self.model, self.optimizer, self.schedule, self.settings = model, optimizer, schedule, settings
        self.averaged = averaged
        self.scored = model if averaged is None else averaged.model  # the weights every evaluation scores
        self.extra: dict[str, Any] = {"scored_weights": "raw" if averaged is None else "ema"}  # for metrics.json
        self.listeners, self.save_checkpoint = listeners, save_checkpoint
        self.step = start_step
        self.lr: float | None = None
        self.eval_seconds = 0.0  # inside `seconds`: what evaluation costs the run
        self.losses = _LossBuffer(listeners, settings.divergence)
        # Listeners that look inside a step (diagnostics) define on_optimizer_step(step);
        # collected once, so a run without any pays nothing per step.
        self.update_hooks = [x.on_optimizer_step for x in listeners if hasattr(x, "on_optimizer_step")]
        self.optimizer_step = unwrapped_step(optimizer)
        # fast=true: the model's whole step without an autograd graph (models/fused.py),
        # unless a listener looks inside the step; with plain SGD it applies the update too.
        self.fused_step = None if self.update_hooks else getattr(model, "train_step", None)
        self.sgd_in_step = self.fused_step is not None and is_plain_sgd(optimizer)

    def run(self, batches: Batches, val_split: EvalSplit, interrupt_requested: StopRequest) -> tuple[str, str | None]:
        """Steps up to max_steps; (status, error). Listeners may raise StopTraining."""
        settings = self.settings
        while self.step < settings.max_steps:
            if interrupt_requested.is_set():
                self.losses.drain()
                if self.save_checkpoint:
                    self.save_checkpoint(self.step)
                return "interrupted", f"interrupted by {interrupt_requested.name} at step {self.step}"
            self.one_step(batches)
            step = self.step
            at_end = step == settings.max_steps
            evaluating = bool(settings.eval_interval) and step % settings.eval_interval == 0 and not at_end
            if len(self.losses) >= settings.sync_every or at_end or evaluating:
                diverged = self.losses.drain()
                if diverged is None and at_end and self.losses.divergence.end_window():
                    diverged = self.losses.divergence.message(step)
                if diverged:
                    return "diverged", diverged
            if evaluating:
                try:
                    _report_eval(self.listeners, step, self.evaluate(val_split))
                except interrupts.Interrupted:  # mid-evaluation or mid-sampling: save the step reached
                    continue  # the check at the top of the loop saves and returns
            interval = settings.checkpoint_interval
            if self.save_checkpoint and interval and step % interval == 0 and not at_end:
                self.save_checkpoint(step)
        return "ok", None

    def score_end(
        self, val_split: EvalSplit, train_data: tuple[torch.Tensor, torch.Tensor], interrupt_requested: StopRequest
    ) -> tuple[str, str | None, dict[str, float]]:
        """A finished run's final scoring: (status, error, its losses). The checkpoint comes
        first: a stop signal during the scoring (which may take long) ends the run as
        interrupted, and its resume only scores it."""
        if self.save_checkpoint:
            self.save_checkpoint(self.step)
        try:
            val_loss = self.evaluate(val_split)
            _report_eval(self.listeners, self.step, val_loss)
            train_loss = self.evaluate(EvalSplit.of(*train_data))
            if self.averaged is not None:
                self.extra["val_loss_raw"] = evaluate_split(self.model, val_split)
        except interrupts.Interrupted:
            return "interrupted", f"interrupted by {interrupt_requested.name} while scoring step {self.step}", {}
        return "ok", None, {"train_loss": train_loss, "val_loss": val_loss}

    def evaluate(self, split: EvalSplit) -> float:
        started = time.perf_counter()
        loss = evaluate_split(self.scored, split)
        self.eval_seconds += time.perf_counter() - started
        return loss

    def result(self, status: str, seconds: float, **fields) -> TrainResult:
        result = TrainResult(status, self.step, seconds, **fields)
        result.extra["eval_seconds"] = round(self.eval_seconds, 3)
        result.extra.update(self.extra)
        return result

    def one_step(self, batches: Batches) -> None:
        lr, new_lr = self.lr, self.schedule(self.step)
        if lr is None or new_lr != lr:
            self.lr = lr = new_lr
            _set_lr(self.optimizer, new_lr)
        inputs = batches.draw()
        if self.fused_step is not None:
            loss = self.fused_step(*inputs, sgd_lr=lr if self.sgd_in_step else None)
            if not self.sgd_in_step:
                self.optimizer_step()
        else:
            _, loss = self.model(*inputs)  # every model computes its own loss
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer_step()
        for hook in self.update_hooks:
            hook(self.step)
        if self.averaged is not None:
            self.averaged.update(self.step)
        self.losses.add(self.step, loss, lr)
        self.step += 1
