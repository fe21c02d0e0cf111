"""TensorBoard's HParams dashboard: a run's session, a sweep's experiment, run names.

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

from wavenet_harness.base.metrics import VAL_LOSS
from wavenet_harness.base.run_config import RunConfig
from wavenet_harness.tracking.report import short_names

VAL_BEST_TAG = "loss/val_best"
CONFIG_GROUPS = ("model", "optim", "schedule")
# The HParams plugin knows success, failure and unknown: a stopped run (to be resumed, or
# pruned by a sweeper) is neither a success nor a failure.
SESSION_STATUS = {"ok": "STATUS_SUCCESS", "interrupted": "STATUS_UNKNOWN", "pruned": "STATUS_UNKNOWN"}

# HParams metrics in the order a sweep is read: what it optimises first, then the train
# loss over the whole split (beside val it shows over- or underfitting), then the rest.
# TensorBoard shows the first five, colours parallel coordinates by the first, and draws
# a job there only when it has a value for every metric shown.
METRIC_TAGS = (VAL_LOSS, "loss/train_split", VAL_BEST_TAG, "loss/train_smooth", "loss/train")
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


def hparam_values(config: RunConfig, params: int, exclude=(), option_columns: dict[str, Any] | None = None
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
BOOKKEEPING_OVERRIDES = ("++optuna.", "+optuna.", "optuna.", "hydra.", "resume=")
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
    items = [
        f"{name}={_short_value(o.partition('=')[2])}" if "=" in o else o
        for name, o in zip(short, overrides, strict=True)
    ]
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
