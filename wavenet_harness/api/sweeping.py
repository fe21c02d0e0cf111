"""`sweep()`: a grid or an Optuna search from Python, run by `wavenet-train --multirun` itself.

A sweep runs as the real command in a child process (`python -m wavenet_harness.cli.train
--multirun ...`, this package's copy, in the current folder): the same sweepers, launchers
(basic, parallel, slurm), parallel jobs, failures as results, resume and study storage,
with none of their process-wide state (joblib workers, signal handlers, Hydra's globals)
in the caller's. Before it starts, the overrides are composed here in multirun mode, so a
mistake raises the CLI's one line at once and the sweep folder is known (the default
pattern resolved, as the CLI would, and handed to it as hydra.sweep.dir). The child's
output is shown as it comes, as a log (a job's progress bar once, at its end). Ctrl-C
is handed to the child's process group as a terminal does: each running job saves its
checkpoint, then Interrupted is raised.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hydra.types import RunMode
from omegaconf import OmegaConf

from wavenet_harness.api.overrides import as_overrides, call_text, hydra_value, override_key, sets
from wavenet_harness.api.results import Interrupted, Sweep
from wavenet_harness.api.session import CONFIG_NAME, composition_errors, hydra_session, user_errors_in_one_line
from wavenet_harness.base.errors import UsageError, UserError
from wavenet_harness.training.stop_signals import request_stop

CLI_MODULE = "wavenet_harness.cli.train"
ERROR_PREFIX = "wavenet-train: error: "
EVERY_JOB_FAILED = "every job of the sweep failed"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding wavenet_harness/ and hydra_plugins/
_CHILDREN: dict[subprocess.Popen, bool] = {}  # running sweeps -> asked to stop
_CHILDREN_LOCK = threading.Lock()


@user_errors_in_one_line
def sweep(
    *overrides: str,
    grid: Mapping[str, Sequence[Any]] | None = None,
    search: str | None = None,
    n_trials: int | None = None,
    n_jobs: int | None = None,
    sweep_dir: str | os.PathLike | None = None,
    **keys: Any,
) -> Sweep:
    """Run `wavenet-train --multirun <overrides>` and return its sweep folder.

    A list value is the values to sweep (`n_hidden=[64, 128]` is `n_hidden=64,128`), as is
    each entry of `grid`; other keys and `overrides` are as in train(). `search` names a
    search (conf/hparams_search/: "hier_optuna"), `n_trials` its number of trials.
    `n_jobs` runs that many jobs side by side (hydra/launcher=parallel; a search also asks
    that many trials at once). `sweep_dir` is the folder (hydra.sweep.dir); resume=True
    continues a sweep's jobs there. Failed jobs are results: see Sweep.table(). Raises a
    UserError with the CLI's one line for a mistake, Interrupted on Ctrl-C or stop().
    """
    args = as_overrides(overrides, {**keys, **dict(grid or {})}, sweep=True)
    args += _sweep_options(args, search, n_trials, n_jobs, sweep_dir)
    folder = _sweep_folder(args)
    if not sets(args, "hydra.sweep.dir"):
        args.append(f"hydra.sweep.dir={hydra_value(str(folder))}")
    code, error, stopped = _run_cli(["--multirun", *args])
    result = Sweep(folder if folder.is_absolute() else Path.cwd() / folder)
    if stopped or code in (130, -signal.SIGINT):
        named = {"grid": grid, "search": search, "n_trials": n_trials, "n_jobs": n_jobs}
        again = {
            **{k: v for k, v in keys.items() if k != "resume"},
            **{k: v for k, v in named.items() if v is not None},
        }
        raise Interrupted(
            "sweep stopped; the running jobs saved their checkpoints. Resume with "
            f"{call_text('sweep', overrides, **again, sweep_dir=str(result.dir), resume=True)}",
            sweep=result,
        )
    if code == 0 or (code == 1 and (error or "").startswith(EVERY_JOB_FAILED)):  # failures are results, as on the CLI
        return result
    if code == 2 and error:
        raise UserError(error)
    raise RuntimeError(f"wavenet-train --multirun ended with exit code {code}" + (f": {error}" if error else ""))


def _sweep_options(
    given: list[str], search: str | None, n_trials: int | None, n_jobs: int | None, sweep_dir: str | os.PathLike | None
) -> list[str]:
    """The overrides that `search`, `n_trials`, `n_jobs` and `sweep_dir` stand for."""
    options = [f"hparams_search={hydra_value(search)}"] if search else []
    is_search = bool(search) or any(override_key(o) in ("hparams_search", "hydra/sweeper") for o in given)
    if n_trials is not None:
        if not is_search:
            raise UsageError(f"n_trials={n_trials!r} is for a search: name one with search=... (conf/hparams_search/)")
        options.append(f"hydra.sweeper.n_trials={hydra_value(n_trials)}")
    if n_jobs is not None:
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
            raise UsageError(f"n_jobs={n_jobs!r} is not allowed: give the number of jobs to run at once (1 or more)")
        options += ["hydra/launcher=parallel", f"hydra.launcher.n_jobs={n_jobs}"]
        if is_search:
            options.append(f"hydra.sweeper.n_jobs={n_jobs}")
    if sweep_dir is not None:
        options.append(f"hydra.sweep.dir={hydra_value(os.fspath(sweep_dir))}")
    return options


def _sweep_folder(args: list[str]) -> Path:
    """The sweep folder these overrides name (composed in multirun mode, as the CLI will)."""
    with hydra_session() as hydra, composition_errors(args):
        cfg = hydra.compose_config(CONFIG_NAME, [*args, "hydra.mode=MULTIRUN"], run_mode=RunMode.MULTIRUN)
        return Path(str(OmegaConf.select(cfg, "hydra.sweep.dir")))


def _run_cli(args: list[str]) -> tuple[int, str | None, bool]:
    """The CLI in a child process of its own group, its output shown here line by line;
    returns its exit code, its last error line (without the prefix) and whether it was
    asked to stop (Ctrl-C here, or stop())."""
    env = dict(
        os.environ,
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")) if p),
        # its output is a log here (a notebook's kernel sets FORCE_COLOR): each job's progress
        # bar is printed once, at its end, not redrawn; tables as wide as the caller's screen
        TTY_COMPATIBLE="0",
        COLUMNS=os.environ.get("COLUMNS") or str(shutil.get_terminal_size((110, 24)).columns),
    )
    env.pop("HYDRA_FULL_ERROR", None)
    child = subprocess.Popen(
        [sys.executable, "-m", CLI_MODULE, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,
    )
    with _CHILDREN_LOCK:
        _CHILDREN[child] = False
    try:
        errors = _relay(child)
        code = child.wait()
    finally:
        with _CHILDREN_LOCK:
            stopped = _CHILDREN.pop(child)
    raised = errors.pop() if code == 2 and errors else None  # the mistake is raised as a UserError: not shown twice
    sys.stderr.writelines(errors)
    sys.stderr.flush()
    last = raised or (errors[-1] if errors else None)
    return code, last[len(ERROR_PREFIX) :].strip() if last else None, stopped


def _relay(child: subprocess.Popen) -> list[str]:
    """Show the child's output here until both of its streams end; Ctrl-C meanwhile is
    handed to the child's group (once per press). Its error lines are kept back and returned."""
    lines: queue.Queue = queue.Queue()
    readers = [
        threading.Thread(target=_read, args=(stream, target, lines), daemon=True)
        for stream, target in ((child.stdout, "out"), (child.stderr, "err"))
    ]
    for reader in readers:
        reader.start()
    open_streams, errors = len(readers), []
    while open_streams:
        try:
            target, line = lines.get()
            if line is None:
                open_streams -= 1
            elif target == "err" and line.startswith(ERROR_PREFIX):
                errors.append(line)
            else:  # flushed line by line, so that a notebook keeps the order of the two streams
                stream = sys.stdout if target == "out" else sys.stderr
                stream.write(line)
                stream.flush()
        except KeyboardInterrupt:
            _stop_child(child)
    return errors


def _read(stream, target: str, lines: queue.Queue) -> None:
    for line in stream:
        lines.put((target, line))
    lines.put((target, None))


def _stop_child(child: subprocess.Popen) -> None:
    """SIGINT to the child's process group (its joblib workers too), as a terminal's Ctrl-C."""
    with _CHILDREN_LOCK:
        if child in _CHILDREN:
            _CHILDREN[child] = True
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGINT)


def stop() -> int:
    """Stop what this process started, as Ctrl-C would: every training loop (in any thread)
    saves its checkpoint and ends as "interrupted", every sweep's jobs likewise. For runs
    started from another thread, where Ctrl-C cannot reach them. Returns how many were asked."""
    with _CHILDREN_LOCK:
        children = list(_CHILDREN)
    for child in children:
        _stop_child(child)
    return request_stop() + len(children)
