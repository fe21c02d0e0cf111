"""TensorBoard's HParams dashboard: a run's session, a sweep's experiment, run names.

HParams: every job writes a session start (its flat hyperparameters, typed: booleans as
booleans, floats as numbers, whole numbers as right-aligned text so that they print as
written and still sort in order; and its `status`) when it starts and again, with its
status, when it ends, plus a session end (status, end time); tracking/hparams_file.py
says where, and why. A job of a sweep also writes the experiment (`experiment_summary`):
its metrics in the order a sweep is read (METRIC_TAGS: val loss first) and every column,
of which the five TensorBoard ticks (`ticked_columns`: the swept keys that matter most,
LEADING_KEYS first, then `status`) are the ones marked as differing. A single run writes
no experiment, so that TensorBoard builds one from all sessions under its logdir and
marks the keys that differ between them itself. A job of a sweep writes into
tb/<its swept values>/ (`run_label`, the values that matter most first), so
TensorBoard's run names say which job a curve is.

It knows nothing of the loop, of Hydra or of the command line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.plugins.hparams.api_pb2 import Status
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData, SessionEndInfo, SessionStartInfo

from wavenet_harness.base.metrics import MINIBATCH_LOSS, MINIBATCH_SMOOTH, TRAIN_SPLIT_LOSS, VAL_BEST, VAL_LOSS
from wavenet_harness.base.run_config import RunConfig
from wavenet_harness.tracking.report import short_names

CONFIG_GROUPS = ("model", "optim", "schedule")
# The column with how each job ended, to filter rows by; "running" until it ends.
STATUS = "status"
STATUS_VALUES = ("ok", "pruned", "diverged", "failed", "interrupted", "running")
# The HParams plugin knows success, failure and unknown: a stopped run (to be resumed, or
# pruned by a sweeper) is neither a success nor a failure.
SESSION_STATUS = {"ok": "STATUS_SUCCESS", "interrupted": "STATUS_UNKNOWN", "pruned": "STATUS_UNKNOWN"}

# HParams metrics in the order a sweep is read: what it optimises first, then the train
# loss over the whole split (beside val it shows over- or underfitting), then the rest.
# TensorBoard shows the first five, colours parallel coordinates by the first, and draws
# a job there only when it has a value for every metric shown.
METRIC_TAGS = (VAL_LOSS, TRAIN_SPLIT_LOSS, VAL_BEST, MINIBATCH_SMOOTH, MINIBATCH_LOSS)
# TensorBoard 2.21's HParams page ticks the first five columns after putting the differing
# ones first (its backend sorts them by name), so the five marked differing are the ticked.
TICKED = 5
# The keys that matter most, first among the swept ones in the ticked columns and in run
# names: what this project's searches found (docs/tuning.md: the learning rate and the
# regularisation decide, the width comes next, the rest of the shape hardly matters).
LEADING_KEYS = ("lr", "optim", "optim.weight_decay", "model.dropout", "n_hidden", "schedule")
# Ticked after the swept keys and the status when fewer than five are swept: which model,
# how big, how long.
FILL_COLUMNS = ("model", "params", "max_steps")
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


def hparam_values(
    config: RunConfig, params: int, exclude=(), option_columns: dict[str, Any] | None = None
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
    everything = config.as_dict()
    for key, value in everything.items():
        if key in exclude:
            continue
        if key in CONFIG_GROUPS and isinstance(value, dict):
            values[key] = str(value.get("name"))
        else:
            values.update(flatten_hparams({key: value}))
    flat = flatten_hparams(everything)
    for key, off in (option_columns or {}).items():
        values[key] = flat.get(key, off)
    values["params"] = params
    return {key: int_text(value) for key, value in values.items()}


def int_text(value: Any) -> Any:
    """A whole number as right-aligned text ('         128'); anything else unchanged."""
    return f"{value:>{INT_WIDTH}}" if isinstance(value, int) and not isinstance(value, bool) else value


def leading_first(keys: Sequence[str]) -> list[str]:
    """`keys` with those in LEADING_KEYS first, in that order; the rest as given."""
    return [k for k in LEADING_KEYS if k in keys] + [k for k in keys if k not in LEADING_KEYS]


def ticked_columns(hparams: dict[str, Any], swept: Sequence[str]) -> list[str]:
    """The five columns HParams ticks: the swept keys that matter most, `status`, then
    FILL_COLUMNS while there is room."""
    keys = [k for k in leading_first(swept) if k in hparams][: TICKED - 1] + [STATUS]
    return keys + [k for k in FILL_COLUMNS if k in hparams and k not in keys][: TICKED - len(keys)]


def experiment_summary(hparams: dict[str, Any], swept: Sequence[str]) -> Summary:
    """The HParams plugin's experiment: its metrics (METRIC_TAGS, in order) and columns.

    Columns: every hyperparameter the job reports, so that any can be ticked and sweeps
    that share a logdir keep their keys; the `ticked_columns` are marked as differing (and
    come first), the others not. Each is typed by this job's value. Only a boolean and the
    status get a domain (all their values): one job cannot know the values the others will
    have, and a domain that missed some would offer a filter that hides their rows. Every
    job of a sweep writes the same experiment (TensorBoard reads one per logdir).
    """
    experiment = api_pb2.Experiment()
    hparams = {**hparams, STATUS: hparams.get(STATUS, "running")}
    ticked = ticked_columns(hparams, swept)
    for name in [*ticked, *(k for k in hparams if k not in ticked)]:
        value = hparams[name]
        info = experiment.hparam_infos.add(name=name, differs=name in ticked)
        if isinstance(value, bool):
            info.type = api_pb2.DATA_TYPE_BOOL
            info.domain_discrete.extend([False, True])
        elif isinstance(value, (int, float)):
            info.type = api_pb2.DATA_TYPE_FLOAT64
        else:
            info.type = api_pb2.DATA_TYPE_STRING
            if name == STATUS:
                info.domain_discrete.extend(STATUS_VALUES)
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
BOOKKEEPING_OVERRIDES = ("++optuna.", "+optuna.", "optuna.", "hydra.", "resume=")
# A run name longer than this wraps in TensorBoard's legend; the HParams table has the rest.
MAX_LABEL_CHARS = 32


def swept_overrides(job_overrides: list[str], fixed_keys: set[str]) -> list[str]:
    """The job's own overrides: those whose key the sweep's command line did not fix.

    For `--multirun lr=0.05,0.1 max_steps=3000` (fixed: max_steps), the job with
    `lr=0.05 max_steps=3000` gets ['lr=0.05']; an Optuna trial gets the values it tries.
    """
    return [
        o
        for o in job_overrides
        if override_key(o) not in fixed_keys and not o.lstrip("+~").startswith(BOOKKEEPING_OVERRIDES)
    ]


def override_key(override: str) -> str:
    return override.partition("=")[0].lstrip("+~")


def override_keys(overrides: list[str]) -> list[str]:
    """The keys of overrides, in their order."""
    return list(dict.fromkeys(override_key(o) for o in overrides))


def run_label(overrides: list[str]) -> str:
    """A TensorBoard run's name from a job's swept overrides: 'lr=0.05 adamw n_hidden=64'.

    The values that matter most first (LEADING_KEYS: lr, optim, ...), short enough for one
    line of TensorBoard's legend: a config group's choice by its value alone (adamw), a
    dotted key by its last part (model.dropout -> dropout) unless two keys would then look
    alike, a long decimal (an Optuna trial's lr=0.0016994284286846403) to 3 significant
    digits, and past MAX_LABEL_CHARS a '+N' for the N values left out. The job's folder
    (its number) leads the run name; the HParams table has every value in full.
    """
    by_key = {override_key(o): o for o in overrides}
    ordered = [by_key[k] for k in leading_first(list(by_key))]
    short = short_names([override_key(o) for o in ordered])
    items = [_label_item(name, o) for name, o in zip(short, ordered, strict=True)]
    label = ""
    for shown, item in enumerate(items):
        candidate = f"{label} {item}".strip()
        rest = len(items) - shown - 1
        if len(candidate) + (len(f" +{rest}") if rest else 0) > MAX_LABEL_CHARS and label:
            label = f"{label} +{len(items) - shown}"
            break
        label = candidate
    return label.replace("/", "_")[: MAX_LABEL_CHARS + 8].strip()


def _label_item(name: str, override: str) -> str:
    if "=" not in override:
        return override
    value = _short_value(override.partition("=")[2])
    return value if override_key(override) in CONFIG_GROUPS else f"{name}={value}"


def _short_value(value: str) -> str:
    if "." not in value and "e" not in value.lower():
        return value
    try:
        return f"{float(value):.3g}"
    except ValueError:
        return value
