"""The curves a run's tracker derives from the raw ones: the smoothed train loss, the val
loss and its best so far held between evaluations, and the learning rate drawn as its
schedule's shape (base/metrics.py names their tags). Each keeps its state for a resume, so
a resumed run's curves continue bit for bit."""

from __future__ import annotations

import math

# A point of a held curve: (step, value, wall time; None: when it is written).
Point = tuple[int, float, float | None]


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


class HeldCurve:
    """Which (step, value, wall time) points draw an evaluated value so that TensorBoard's
    default smoothing (an exponential moving average over points, weight 0.6) ends each
    run's line on its true last value.

    Smoothing a handful of val points drags the end of the line towards earlier values by
    an amount that differs from run to run, and can reverse the ranking. This curve is a
    staircase: a point at each evaluation, HOLD_POINTS points between two evaluations
    repeating the value that held there (written when the next evaluation comes, so no
    value is known before it was), and at the end TAIL_POINTS points on the steps just
    after the last one. After 20 equal points the moving average is within 0.6**20 (4e-5)
    of the step's size. A held point carries the wall time of the point it repeats, so on
    a wall-time axis it lies on that evaluation and readers can tell it apart from a new
    evaluation that happens to give the same value (tracking/curves.py, `evaluations`); in
    a resumed run the points that hold the value it stopped at carry the time they are
    written, as checkpoints keep no wall times.
    `_next` says which value an evaluation leaves held: the value itself here.
    """

    HOLD_POINTS = 8
    TAIL_POINTS = 20
    STATE_KEY = "value"

    def __init__(self):
        self.value: float | None = None
        self.step: int | None = None  # the step of the last point written
        self.wall_time: float | None = None  # when the last point was measured

    def _next(self, value: float) -> float | None:
        return value

    def points(self, step: int, value: float, wall_time: float) -> list[Point]:
        out = self._hold(step)
        held = self._next(value)
        if held is not None and (self.step is None or step > self.step):
            self.value, self.wall_time = held, wall_time
            out.append((step, held, self.wall_time))
            self.step = step
        return out

    def end_points(self, last_step: int) -> list[Point]:
        if self.value is None or self.step is None:
            return []
        end = max(last_step, self.step)  # the last training step, or the final evaluation's
        out = self._hold(end + 1)
        out += [(end + k, self.value, self.wall_time) for k in range(1, self.TAIL_POINTS + 1)]
        self.step = end + self.TAIL_POINTS
        return out

    def _hold(self, until: int) -> list[Point]:
        """Points strictly between the last one written and `until`, at the value that held."""
        if self.value is None or self.step is None or until - self.step < 2:
            return []
        every = max(1, (until - self.step) // (self.HOLD_POINTS + 1))
        steps = list(range(self.step + every, until, every))[: self.HOLD_POINTS]
        return [(s, self.value, self.wall_time) for s in steps]

    def state_dict(self) -> dict:
        # Not the wall time: a checkpoint holds what was computed, the same in every run; a
        # resumed run writes the points that hold its first value with the time they are written.
        return {self.STATE_KEY: self.value, "step": self.step}

    def load_state_dict(self, state: dict) -> None:
        self.value, self.step = state.get(self.STATE_KEY), state.get("step")
        self.wall_time = None


class ValBestCurve(HeldCurve):
    """The lowest val loss so far, held the same way (a non-finite val never becomes the best)."""

    STATE_KEY = "best"

    def _next(self, value: float) -> float | None:
        if math.isfinite(value) and (self.value is None or value < self.value):
            return value
        return self.value

    @property
    def best(self) -> float | None:
        return self.value


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
