"""When a run has diverged: a loss that stays far above where every model starts."""

from __future__ import annotations

import math


class DivergenceCheck:
    """A run has diverged when its loss stays far above where every model starts.

    A model that predicts uniformly scores ln(vocab); one that blows up scores far more,
    possibly without ever reaching infinity (lr=1e9 gives losses of 1e9). The loss is
    averaged over windows of `window` steps (steps 0-99, 100-199, ..., so a resumed run
    checks the same windows; the first after a resume and the last may be shorter); a
    window whose mean exceeds `factor` x ln(vocab) stops the run as diverged. factor=0
    turns the check off (NaN and infinity still stop a run).
    """

    WINDOW = 100

    def __init__(self, limit: float, window: int = WINDOW):
        self.limit = limit
        self.window = window
        self.total = 0.0
        self.count = 0

    @classmethod
    def for_vocab(cls, vocab_size: int, factor: float, window: int = WINDOW) -> DivergenceCheck:
        return cls(factor * math.log(vocab_size) if factor else math.inf, window)

    def add(self, step: int, loss: float) -> bool:
        """Add one step's loss; True when this step ends a window whose mean is above the limit."""
        self.total += loss
        self.count += 1
        return (step + 1) % self.window == 0 and self.end_window()

    def end_window(self) -> bool:
        """Close the (possibly partial) window; True when its mean is above the limit."""
        if self.count == 0:
            return False
        mean, self.total, self.count = self.total / self.count, 0.0, 0
        return mean > self.limit

    def message(self, step: int) -> str:
        return f"loss stayed above {self.limit:.3g} (diverge_factor x ln(vocab)) up to step {step}"
