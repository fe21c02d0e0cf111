"""What the search does with one trial: count it, tell the study how its job ended, ask it again.

  status in the job's metrics.json -> what the study is told
  ok (finite val loss)             -> COMPLETE with the val loss
  pruned                           -> PRUNED (the job reported and stopped itself)
  diverged, failed, anything else  -> FAIL (the search goes on)
  interrupted (Ctrl-C)             -> FAIL flagged `requeued`, asked again next time; the search stops

A trial flagged `requeued` does not count toward n_trials and its parameters are enqueued,
so the next run of the command asks them again. The study is only ever asked and told
from the sweeper's main thread (see _slots.py).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, cast

import optuna
from hydra.core.utils import JobReturn, JobStatus
from optuna.trial import FrozenTrial, TrialState

from hydra_plugins.wavenet_optuna_sweeper._space import override_value
from wavenet_harness.base.records import load_run
from wavenet_harness.sweeps.launch import fit
from wavenet_harness.sweeps.study import importance_caveat


def one_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    return " ".join(lines[:3]) if lines else type(err).__name__


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def counted_trials(study: optuna.Study) -> int:
    """Trials that count toward n_trials: finished or running, not waiting, not requeued."""
    total = 0
    for trial in study.get_trials(deepcopy=False):
        if trial.state == TrialState.WAITING:
            continue
        if trial.state == TrialState.FAIL and trial.user_attrs.get("requeued"):
            continue
        total += 1
    return total


def requeue(study: optuna.Study, trial: optuna.trial.Trial, ask_again: bool = True) -> None:
    """A trial that never got its chance (a launch that raised, Ctrl-C): FAIL that does not
    count, its parameters asked again by the next run of the command (unless the user's own
    mistake made it fail: then asking again would only fail again)."""
    trial.set_user_attr("requeued", True)
    study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
    if ask_again:
        study.enqueue_trial(trial.params)


def tell_outcome(study: optuna.Study, trial: optuna.trial.Trial, result: JobReturn, run_dir: Path) -> str:
    """Tell the study how the trial's job ended (see the module's table); return its status."""
    record = load_run(run_dir)
    error = record.error
    if result.status == JobStatus.FAILED:
        status, value = "failed", None
        error = error or repr(result._return_value)
    elif record.status in ("missing", "unreadable"):
        status, value = "failed", result.return_value
    else:
        status, value = record.status, result.return_value
    trial.set_user_attr("status", status)
    trial.set_user_attr("run_dir", str(run_dir))
    if error:
        trial.set_user_attr("error", str(error)[:500])
    if status == "ok" and isinstance(value, (int, float)) and math.isfinite(value):
        study.tell(trial, float(value))
        shown = f"val loss {value:.4f}"
    elif status == "pruned":
        study.tell(trial, state=TrialState.PRUNED)
        shown = error or "pruned"
    elif status == "interrupted":  # not the trial's fault: does not count, asked again
        requeue(study, trial)
        shown = "interrupted; its parameters will be asked again"
    else:
        study.tell(trial, state=TrialState.FAIL)
        shown = error or "no result"
    print(fit(f"trial {trial.number}: {status}: {shown}  [{params_text(trial.params)}]"), flush=True)
    return status


def params_text(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={override_value(v)}" for k, v in params.items())


def print_best(study: optuna.Study) -> None:
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not done:
        return
    best = min(done, key=_value) if study.direction.name == "MINIMIZE" else max(done, key=_value)
    print(fit(f"best trial {best.number}: val loss {_value(best):.4f}  [{params_text(best.params)}]"), flush=True)
    caveat = importance_caveat(len(done))
    if caveat:
        print(fit(f"note: {caveat}"), flush=True)


def _value(trial: FrozenTrial) -> float:
    return cast(float, trial.value)  # a COMPLETE trial always holds its value
