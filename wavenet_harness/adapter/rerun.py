"""A job of a sweep or search as one plain run: the overrides that reproduce it without --multirun.

A search's trial was started with `hparams_search=<name>` (refused without --multirun: a
search is a sweep) and with the link to its trial (`++optuna.storage=...`, which would
report to a study whose trial has ended). `single_run_overrides` drops the link and puts
in place of `hparams_search=<name>` what that preset sets for a job: its config group
choices (`override /model: hier` as `model=hier`) and its values (`log: {progress: false}`
as `log.progress=false`), leaving out the sweeper's own `hydra` settings and every key the
job's own overrides set (those win over the preset's in the search too). A preset's warmup
that the trial fitted to a shortened run (training/schedules.py, fit_warmup: a value from a
preset is scaled, one from the command line is not) is written as fitted. Composed and
checked, the result is the trial's config (tests/unit/test_rerun.py, every preset in conf/).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wavenet_harness.adapter.schema import config_dir
from wavenet_harness.base.files import read_regular_text
from wavenet_harness.base.run_config import SHORTENED_WARMUP_SHARE, TRIAL_FIELD

SEARCH_GROUP = "hparams_search"
_PLAIN = re.compile(r"[A-Za-z_][\w./-]*")
_WORDS = ("true", "false", "null", "none", "nan", "inf")


def override_key(override: str) -> str:
    return override.partition("=")[0].lstrip("+~")


def _trial_link(override: str) -> bool:
    """++optuna.trial=3 (older runs: +optuna.trial=3); sweeps/study.py writes them."""
    return override.startswith("+") and override_key(override).startswith(f"{TRIAL_FIELD}.")


def _quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _value(value: Any) -> str:
    """A yaml value as a Hydra override writes it."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_value(v) for v in value) + "]"
    if isinstance(value, str) and not (_PLAIN.fullmatch(value) and value.lower() not in _WORDS):
        return _quoted(value)
    return str(value)


def _flat(values: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in values.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}={_value(value)}"


def preset_overrides(group: str, name: str) -> list[str]:
    """What conf/<group>/<name>.yaml sets for a job, as overrides (its `hydra` part left out)."""
    import yaml

    preset = yaml.safe_load(read_regular_text(Path(config_dir()) / group / f"{name}.yaml")) or {}
    choices = []
    for entry in preset.get("defaults") or []:
        for key, value in entry.items() if isinstance(entry, dict) else ():
            target = key.removeprefix("override").strip().lstrip("/")
            if not target.startswith("hydra/"):
                choices.append(f"{target}={_value(value)}")
    values = {k: v for k, v in preset.items() if k not in ("defaults", "hydra")}
    return choices + list(_flat(values))


def single_run_overrides(overrides: list[str]) -> list[str]:
    """A job's overrides as one plain run's (see the module's docstring)."""
    kept = [o for o in overrides if not _trial_link(o)]
    search = next((o for o in kept if override_key(o) == SEARCH_GROUP), None)
    if search is None:
        return kept
    try:
        spelled = preset_overrides(SEARCH_GROUP, search.partition("=")[2])
    except (OSError, ValueError):  # a preset no longer in conf/: the line keeps what the job had
        return kept
    given = {override_key(o) for o in kept}
    at = kept.index(search)
    spelled = _fitted([o for o in spelled if override_key(o) not in given], kept)
    return [*kept[:at], *spelled, *kept[at + 1 :]]


def _fitted(spelled: list[str], given: list[str]) -> list[str]:
    """The preset's schedule.warmup_steps as the trial ran it: scaled to 10% of a shortened
    max_steps, as fit_warmup does for a value that is not on the command line."""
    values = {override_key(o): o.partition("=")[2] for o in [*spelled, *given]}
    try:
        warmup, max_steps = int(values["schedule.warmup_steps"]), int(values["max_steps"])
    except (KeyError, ValueError):
        return spelled
    cap = int(max_steps * SHORTENED_WARMUP_SHARE)
    if warmup <= 0 or warmup <= max(cap, 0) or "schedule.warmup_steps" not in {override_key(o) for o in spelled}:
        return spelled
    return [f"schedule.warmup_steps={cap}" if override_key(o) == "schedule.warmup_steps" else o for o in spelled]
