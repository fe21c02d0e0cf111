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

HParams: every job writes a session start (its flat hyperparameters, typed: booleans as
booleans, floats as numbers, whole numbers as right-aligned text so that they print as
written and still sort in order) when it starts and a session end (status, end time) when
it finishes. A job of a sweep also writes the experiment (`experiment_summary`): its
metrics in the order a sweep is read (METRIC_TAGS: val loss first) and its columns, the
swept keys (marked as differing) then the model and its size (LEADING_COLUMNS); constants are
left out of the columns, since TensorBoard ticks the first five columns it is given. A
single run writes no experiment, so that TensorBoard builds one from all sessions under
its logdir and marks the keys that differ between them itself. A job of a sweep writes
into tb/<its swept values>/ (`run_label`), so TensorBoard's run names say which job a
curve is.

`check_log` holds the rules of the `log` config group. Tracking only listens: nothing
here draws from the global random generator or changes what the loop computes; it knows
nothing of the loop's internals, of Hydra or of the command line.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any, Callable, Sequence

import torch

from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams.api_pb2 import Status
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData, SessionEndInfo, SessionStartInfo
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import text as text_summary

from wavenet_harness.base.errors import ConfigError, is_int
from wavenet_harness.base.data import Vocabulary
from wavenet_harness.models.sampling import generate
from wavenet_harness.tracking.report import short_names

CONFIG_GROUPS = ("model", "optim", "schedule")
# The HParams plugin knows success, failure and unknown: a stopped run (to be resumed, or
# pruned by a sweeper) is neither a success nor a failure.
SESSION_STATUS = {"ok": "STATUS_SUCCESS", "interrupted": "STATUS_UNKNOWN", "pruned": "STATUS_UNKNOWN"}

LR_TAG = "opt/lr"
VAL_BEST_TAG = "loss/val_best"
# HParams metrics in the order a sweep is read: what it optimises first, then the train
# loss over the whole split (beside val it shows over- or underfitting), then the rest.
# TensorBoard shows the first five, colours parallel coordinates by the first, and draws
# a job there only when it has a value for every metric shown.
METRIC_TAGS = ("loss/val", "loss/train_split", VAL_BEST_TAG, "loss/train_smooth", "loss/train")
# Columns after the swept keys: which model, how big. TensorBoard's table puts the metrics
# after the ticked columns, so each column more pushes val loss further right.
LEADING_COLUMNS = ("model", "params")
# Whole numbers are reported as text right-aligned to this width: TensorBoard prints every
# number with five significant digits (128 as "128.00") but text as written, and sorts
# text by characters, which for right-aligned digits is numeric order. Browsers do not
# show the leading spaces.
INT_WIDTH = 12


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


def hparam_values(cfg: dict[str, Any], params: int, exclude=(), option_columns: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
    """The flat hyperparameters a job reports to the HParams tab; the same keys for every job.

    Every top-level scalar and plain section (data.*) of the config, the chosen model,
    optimizer and schedule by name, the params count and `option_columns`: options that
    only some choices of a config group have ({'optim.momentum': 0.0, ...}, declared by
    their owners), filled with the value that means "off" where the chosen option lacks
    them, so that every job of a sweep has every column. Whole numbers become right-aligned
    text (`int_text`).
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
    return {key: int_text(value) for key, value in values.items()}


def int_text(value: Any) -> Any:
    """A whole number as right-aligned text ('         128'); anything else unchanged."""
    return f"{value:>{INT_WIDTH}}" if isinstance(value, int) and not isinstance(value, bool) else value


def experiment_summary(hparams: dict[str, Any], swept: Sequence[str]) -> Summary:
    """The HParams plugin's experiment: its metrics (METRIC_TAGS, in order) and columns.

    Columns: the `swept` keys, marked as differing (TensorBoard lists those first), then
    LEADING_COLUMNS. Each is typed by this job's value. Only a boolean gets a domain (both
    values): one job cannot know the values the others will have, and a domain that
    missed some would offer a filter that hides their rows. Every job of a sweep writes the
    same experiment (TensorBoard reads one per logdir).
    """
    experiment = api_pb2.Experiment()
    names = [*(k for k in swept if k in hparams), *(k for k in LEADING_COLUMNS if k in hparams and k not in swept)]
    for name in names:
        value = hparams[name]
        info = experiment.hparam_infos.add(name=name, differs=name in swept)
        if isinstance(value, bool):
            info.type = api_pb2.DATA_TYPE_BOOL
            info.domain_discrete.extend([False, True])
        elif isinstance(value, (int, float)):
            info.type = api_pb2.DATA_TYPE_FLOAT64
        else:
            info.type = api_pb2.DATA_TYPE_STRING
    for tag in METRIC_TAGS:
        experiment.metric_infos.add(name=api_pb2.MetricName(tag=tag))
    return _hparams_summary(hparams_metadata.EXPERIMENT_TAG, HParamsPluginData(experiment=experiment))


def session_start_summary(hparams: dict[str, Any], start_time: float) -> Summary:
    """The HParams plugin's start-of-session record, each value with its own type.

    (torch's helper writes booleans as the numbers 0 and 1, and tensorboard's own needs
    TensorFlow.)
    """
    info = SessionStartInfo(start_time_secs=start_time)
    for name, value in hparams.items():
        if isinstance(value, bool):  # before int: a bool is an int in Python
            info.hparams[name].bool_value = value
        elif isinstance(value, (int, float)):
            info.hparams[name].number_value = value
        else:
            info.hparams[name].string_value = str(value)
    return _hparams_summary(hparams_metadata.SESSION_START_INFO_TAG, HParamsPluginData(session_start_info=info))


def session_end_summary(status: str, end_time: float) -> Summary:
    """The HParams plugin's end-of-session record: Success, Failure or Unknown, and when."""
    status_value = Status.Value(SESSION_STATUS.get(status, "STATUS_FAILURE"))
    info = SessionEndInfo(status=status_value, end_time_secs=end_time)
    return _hparams_summary(hparams_metadata.SESSION_END_INFO_TAG, HParamsPluginData(session_end_info=info))


def _hparams_summary(tag: str, content: HParamsPluginData) -> Summary:
    content.version = hparams_metadata.PLUGIN_DATA_VERSION
    plugin = SummaryMetadata.PluginData(plugin_name=hparams_metadata.PLUGIN_NAME, content=content.SerializeToString())
    return Summary(value=[Summary.Value(tag=tag, metadata=SummaryMetadata(plugin_data=plugin))])


# Overrides that say how a job of a sweep is run, not what it trains.
BOOKKEEPING_OVERRIDES = ("+optuna.", "optuna.", "hydra.", "resume=")
# A run name longer than this wraps in TensorBoard's legend; the HParams table has the rest.
MAX_LABEL_CHARS = 40


def swept_overrides(job_overrides: list[str], fixed_keys: set[str]) -> list[str]:
    """The job's own overrides: those whose key the sweep's command line did not fix.

    For `--multirun lr=0.05,0.1 max_steps=3000` (fixed: max_steps), the job with
    `lr=0.05 max_steps=3000` gets ['lr=0.05']; an Optuna trial gets the values it tries.
    """
    return [o for o in job_overrides
            if override_key(o) not in fixed_keys and not o.lstrip("+~").startswith(BOOKKEEPING_OVERRIDES)]


def override_key(override: str) -> str:
    return override.partition("=")[0].lstrip("+~")


def override_keys(overrides: list[str]) -> list[str]:
    """The keys of overrides, in their order."""
    return list(dict.fromkeys(override_key(o) for o in overrides))


def run_label(overrides: list[str]) -> str:
    """A TensorBoard run's name from a job's swept overrides: 'lr=0.05 n_hidden=64'.

    Short enough for one line of TensorBoard's legend: a dotted key shows its last part
    (model.dropout -> dropout) unless two keys would then look alike, a long decimal (an
    Optuna trial's lr=0.0016994284286846403) shows 3 significant digits, and past
    MAX_LABEL_CHARS the label ends with '+N' for the N values left out. The job's folder
    (its number) leads the run name; the HParams table has every value in full.
    """
    short = short_names([override_key(o) for o in overrides])
    items = [f"{name}={_short_value(o.partition('=')[2])}" if "=" in o else o for name, o in zip(short, overrides)]
    label = ""
    for shown, item in enumerate(items):
        candidate = f"{label} {item}".strip()
        rest = len(items) - shown - 1
        if len(candidate) + (len(f" +{rest}") if rest else 0) > MAX_LABEL_CHARS and label:
            label = f"{label} +{len(items) - shown}"
            break
        label = candidate
    return label.replace("/", "_")[:MAX_LABEL_CHARS + 8].strip()


def _short_value(value: str) -> str:
    if "." not in value and "e" not in value.lower():
        return value
    try:
        return f"{float(value):.3g}"
    except ValueError:
        return value


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

    def on_eval(self, step: int, val_loss: float) -> None:
        self.writer.add_scalar("loss/val", val_loss, step)
        for best_step, best in self.val_best.points(step, val_loss):
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
        return {"smoother": self.smoother.state_dict(), "last_lr": self.lr_curve.lr, "lr_curve": self.lr_curve.state_dict(),
                "val_best": self.val_best.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.smoother.load_state_dict(state["smoother"])
        self.lr_curve.load_state_dict(state.get("lr_curve") or {"lr": state.get("last_lr")})
        self.val_best.load_state_dict(state.get("val_best") or {})

    def close(self) -> None:
        self.writer.close()


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
        jump = not first and lr != self.lr and self.step is not None and self.step > self.since
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


def check_log(log: dict[str, Any]) -> None:
    """What is logged never changes training, but a zero or negative interval cannot work."""
    for key, smallest in (("loss_every", 1), ("smooth_window", 1), ("diagnostics_every", 1), ("samples", 0)):
        value = log.get(key, smallest)
        if not is_int(value) or value < smallest:
            what = "a positive whole number" if smallest else "a whole number >= 0"
            raise ConfigError(f"log.{key}={value!r} is not allowed: it must be {what}")
    if log.get("samples", 0) > MAX_SAMPLES:
        raise ConfigError(f"log.samples={log['samples']} is not allowed: at most {MAX_SAMPLES} names per evaluation "
                          "(they are TensorBoard text; use wavenet-sample RUN -n N for many)")
    for key in ("progress", "diagnostics"):
        if not isinstance(log.get(key, False), bool):
            raise ConfigError(f"log.{key}={log[key]!r} is not allowed: it must be true or false")
