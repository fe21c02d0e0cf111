"""The run's record kept current while it trains, so `wavenet-report` shows a run in progress."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from wavenet_harness.base.metrics import VAL_LOSS
from wavenet_harness.base.records import RunRecord, write_record


class LiveRecord:
    """A trainer listener: at every evaluation (and, through `checkpoint`, every checkpoint)
    it writes the step reached, the last val loss and the seconds so far into metrics.json,
    atomically."""

    def __init__(self, record: RunRecord):
        self.record = record  # the run's own record: what it holds at the end is written at the end
        self.started = time.perf_counter()

    def on_train_loss(self, step: int, loss: float, lr: float) -> None:
        pass

    def on_metrics(self, step: int, metrics: Mapping[str, float]) -> None:
        if VAL_LOSS in metrics:
            self.update(step, val_loss=metrics[VAL_LOSS])

    def checkpoint(self, step: int) -> None:
        self.update(step)

    def update(self, step: int, **values: Any) -> None:
        if self.record.status != "running":
            return
        self.record.update(steps=step, seconds=round(time.perf_counter() - self.started, 3), **values)
        write_record(self.record)
