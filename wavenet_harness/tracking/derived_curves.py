"""The curves a run's tracker derives from the raw ones: the smoothed train loss, the best
val loss so far, and the learning rate drawn as its schedule's shape (tracking/tensorboard.py
names their tags). Each keeps its state for a resume, so a resumed run's curves continue
bit for bit."""

from __future__ import annotations

import math


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


class ValBestCurve:
    """Which (step, value) points draw the lowest val loss so far so that TensorBoard's
    default smoothing (an exponential moving average over points, weight 0.6) ends each
    run's line on its true best value.

    Smoothing a handful of val points drags the end of the line towards earlier, higher
    values by an amount that differs from run to run, and can reverse the ranking. This
    curve is a staircase: at each evaluation the best so far, with HOLD_POINTS points
    between two evaluations repeating the best that held there (written when the next
    evaluation comes, so no value is known before it was), and at the end TAIL_POINTS
    points on the steps just after the last one, where the best no longer changes. After
    20 equal points the moving average is within 0.6**20 (4e-5) of the step's size.
    """

    HOLD_POINTS = 8
    TAIL_POINTS = 20

    def __init__(self):
        self.best: float | None = None
        self.step: int | None = None  # the step of the last point written

    def points(self, step: int, val_loss: float) -> list[tuple[int, float]]:
        out = self._hold(step)
        if math.isfinite(val_loss) and (self.best is None or val_loss < self.best):
            self.best = val_loss
        if self.best is not None and (self.step is None or step > self.step):
            out.append((step, self.best))
            self.step = step
        return out

    def end_points(self, last_step: int) -> list[tuple[int, float]]:
        if self.best is None or self.step is None:
            return []
        end = max(last_step, self.step)  # the last training step, or the final evaluation's
        out = self._hold(end + 1)
        out += [(end + k, self.best) for k in range(1, self.TAIL_POINTS + 1)]
        self.step = end + self.TAIL_POINTS
        return out

    def _hold(self, until: int) -> list[tuple[int, float]]:
        """Points strictly between the last one written and `until`, at the best that held."""
        if self.best is None or self.step is None or until - self.step < 2:
            return []
        every = max(1, (until - self.step) // (self.HOLD_POINTS + 1))
        return [(s, self.best) for s in range(self.step + every, until, every)][: self.HOLD_POINTS]

    def state_dict(self) -> dict:
        return {"best": self.best, "step": self.step}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.step = state.get("best"), state.get("step")


class LearningRateCurve:
    """Which (step, lr) points draw the schedule as it is, with TensorBoard's straight lines.

    A point at every `loss_every` step draws a cosine as a curve. When the lr jumps after
    holding for at least two steps (the step schedule's drop), the last step of the old
    value is added before the first step of the new one, so the line drops straight down
    instead of sloping from the previous point. A lr that changes at every step (cosine,
    warmup) needs no extra points.
    """

    def __init__(self):
        self.lr: float | None = None  # the lr at the last step seen
        self.since: int | None = None  # the step it took that value
        self.step: int | None = None  # the last step seen
        self.logged_step: int | None = None  # the last step written

    def points(self, step: int, lr: float, on_cadence: bool) -> list[tuple[int, float]]:
        out: list[tuple[int, float]] = []
        first = self.lr is None
        jump = False
        if self.lr is not None and lr != self.lr and self.step is not None and self.since is not None:
            jump = self.step > self.since
            if jump and self.logged_step != self.step:
                out.append((self.step, self.lr))
        if first or jump or on_cadence:
            out.append((step, lr))
        if first or lr != self.lr:
            self.lr, self.since = lr, step
        self.step = step
        if out:
            self.logged_step = out[-1][0]
        return out

    def last_point(self) -> tuple[int, float] | None:
        """The last step seen, if it was not written: where the curve ends."""
        if self.step is None or self.lr is None or self.logged_step == self.step:
            return None
        self.logged_step = self.step
        return self.step, self.lr

    def state_dict(self) -> dict:
        return {"lr": self.lr, "since": self.since, "step": self.step, "logged_step": self.logged_step}

    def load_state_dict(self, state: dict) -> None:
        self.lr = state.get("lr")
        self.since, self.step, self.logged_step = state.get("since"), state.get("step"), state.get("logged_step")
