"""The run directory: the one owner of its file names, statuses and how they are written and read.

A run directory (one job of wavenet-train) holds:
  metrics.json           status ("running" while it trains), losses, params, steps, seconds;
                         while it trains, rewritten at every evaluation and checkpoint with
                         the step reached, the last val loss and the seconds so far (LiveMetrics)
  checkpoint.pt          the latest checkpoint (training/checkpoint.py writes its content)
  tb/                    TensorBoard events (tracking/tensorboard.py); a job of a sweep writes
                         them to tb/<its swept values>/ (e.g. tb/lr=0.05/), so that
                         TensorBoard's run names say which job a curve is
  starts.json            every start of the run (the first, then each resume): when, the
                         command-line overrides (passwords masked), the step it began at and
                         its max_steps, so a run extended by a resume can be rerun exactly
  traceback.txt          a multirun job that crashed: the whole traceback
  cli.log                Hydra's job log (opened only once something is logged)
  .hydra/overrides.yaml  the command-line overrides Hydra saved for the job
A sweep directory holds job directories (0/, 1/, ...), Hydra's multirun.yaml (the sweep's
config and command line) and, for an Optuna search, optuna.journal.

Every file is written through `write_atomic` (temporary file + rename), so a reader
never sees half a file, and every JSON through `json_text`, so none holds a bare NaN.
This module imports nothing from the rest of the package but passwords.py (which imports
nothing): data, checkpoints, the job, reports and sweeps all build on it.

A run directory belongs to one run (README "When things go wrong"):
  - default directories end in a random token (`runs/<date>/<H-M-S>-<token>`,
    `${wavenet_unique:}` in conf/train.yaml), so runs started in the same second, on one
    machine or many, get different directories;
  - a directory that already holds a run (RUN_MARKERS) is written only by `resume=true`
    (or `resume=<that directory>`); anything else is refused before a byte is written;
  - a run claims its directory by creating metrics.json exclusively, so of two runs
    racing for one directory exactly one goes on;
  - one process at a time works in a run directory or a sweep folder: it holds an
    exclusive flock on the folder's `.wavenet.lock` (with its pid inside) from its claim
    until it ends (the workers of one Optuna search share theirs: the study gives each
    other trials, each in its own job folder); a second process (two resume=true, a sweep
    resumed while it still runs) is refused in one line naming the holder's pid. The
    kernel drops the lock when the holder dies, even by SIGKILL, so a crash never leaves a
    folder locked;
  - Hydra's `.hydra/` files are written by the job once every check has passed
    (train.yaml sets `hydra.output_subdir: null`; Hydra's cli.log is opened only when
    something is logged), and a refused run removes the folders Hydra made for it.
"""

from __future__ import annotations

import errno
import fcntl
import io
import json
import math
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, IO

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from wavenet_harness.passwords import masked

METRICS_NAME = "metrics.json"
CHECKPOINT_NAME = "checkpoint.pt"
TENSORBOARD_DIR = "tb"
TRACEBACK_NAME = "traceback.txt"
JOURNAL_NAME = "optuna.journal"
STARTS_NAME = "starts.json"  # every start of the run: its overrides, the step it began at, its max_steps
SWEEP_CONFIG_NAME = "multirun.yaml"  # Hydra's: the sweep's config and command-line overrides
OVERRIDES_PATH = Path(".hydra") / "overrides.yaml"
HYDRA_DIR = ".hydra"
LOCK_NAME = ".wavenet.lock"  # flock'ed by the one process working in a run directory or sweep folder

# How a job can end; "missing" is a job directory without metrics.json (killed before it began).
STATUSES = ("ok", "failed", "diverged", "pruned", "interrupted", "running", "missing")


# What marks a folder as holding a run (any one of them).
RUN_MARKERS = (METRICS_NAME, CHECKPOINT_NAME, TENSORBOARD_DIR, HYDRA_DIR)
UNIQUE_RESOLVER = "wavenet_unique"
TOKEN_BYTES = 3  # 6 hex characters: 16.7 million names per second


class RunDirError(ValueError):
    """A path that is not the run directory (or the folder of runs) it should be."""


class RunDirTaken(RunDirError):
    """The run directory holds (or was just taken by) another run; nothing was written."""


class RunDirFull(RunDirError):
    """A write in the run directory failed for want of space (or quota, or a size limit)."""


# errno values that mean "no room to write", not "you may not write here".
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def is_disk_full(err: BaseException) -> bool:
    return isinstance(err, OSError) and err.errno in DISK_FULL_ERRNOS


def write_atomic(path: str | os.PathLike, write: Callable[[IO], None], binary: bool = False, suffix: str = ".tmp") -> Path:
    """Write a file through a temporary file in the same folder and rename it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=suffix)
    try:
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def json_safe(value: Any, where: str = "", replaced: list[str] | None = None) -> Any:
    """A copy that is valid JSON: NaN and infinity become None; `replaced` collects their keys."""
    if isinstance(value, float) and not math.isfinite(value):
        if replaced is not None:
            replaced.append(where or "value")
        return None
    if isinstance(value, dict):
        return {k: json_safe(v, f"{where}.{k}" if where else str(k), replaced) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v, f"{where}[{i}]", replaced) for i, v in enumerate(value)]
    return value


def json_text(payload: Any, **options: Any) -> str:
    """JSON for files and --json outputs: never a bare NaN (which no other JSON reader
    accepts). A dict whose numbers were not finite gets `non_finite`: the keys now null, and why."""
    replaced: list[str] = []
    clean = json_safe(payload, replaced=replaced)
    if replaced and isinstance(clean, dict):
        clean["non_finite"] = {"keys": replaced, "why": "NaN or infinite (the run diverged or had nothing to score)"}
    return json.dumps(clean, allow_nan=False, **options)


def write_json_atomic(path: str | os.PathLike, payload: dict) -> None:
    """Write JSON atomically, so readers never see half a file."""

    def dump(f: IO) -> None:
        f.write(json_text(payload, indent=2, sort_keys=True))
        f.write("\n")

    write_atomic(path, dump)


def tensorboard_dir(run_dir: Path, label: str = "") -> Path:
    """Where a run's TensorBoard events go: tb/, or tb/<label>/ for a job of a sweep."""
    return Path(run_dir) / TENSORBOARD_DIR / label if label else Path(run_dir) / TENSORBOARD_DIR


def write_metrics(run_dir: Path, metrics: dict[str, Any]) -> None:
    write_json_atomic(run_dir / METRICS_NAME, metrics)


class LiveMetrics:
    """A trainer listener that keeps metrics.json current while the run trains.

    At every evaluation (and, through `checkpoint`, every checkpoint) it writes the step
    reached, the last val loss and the seconds so far, atomically, so `wavenet-report`
    can show the progress of a run that is still going.
    """

    def __init__(self, run_dir: Path, metrics: dict[str, Any]):
        self.run_dir = Path(run_dir)
        self.metrics = metrics  # the run's own dict: what it holds at the end is written at the end
        self.started = time.perf_counter()

    def on_train_loss(self, step: int, loss: float, lr: float) -> None:
        pass

    def on_eval(self, step: int, val_loss: float) -> None:
        self.update(step, val_loss=val_loss)

    def checkpoint(self, step: int) -> None:
        self.update(step)

    def update(self, step: int, **values: Any) -> None:
        if self.metrics.get("status") != "running":
            return
        self.metrics.update(steps=step, seconds=round(time.perf_counter() - self.started, 3), **values)
        write_metrics(self.run_dir, self.metrics)


class NotARegularFile(OSError):
    """A FIFO, socket or device where a run's file should be: never read (it could block forever)."""


def read_regular_text(path: str | os.PathLike) -> str:
    """A file's text, refusing anything but a regular file without blocking on it
    (O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever)."""
    import stat

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotARegularFile(f"{path} is not a regular file (a FIFO, socket or device?)")
        os.set_blocking(fd, True)
        with os.fdopen(fd, encoding="utf-8", errors="replace") as f:
            fd = -1  # the file object closes it now
            return f.read()
    finally:
        if fd >= 0:
            os.close(fd)


def read_metrics(run_dir: Path) -> dict[str, Any]:
    """A run's metrics.json ({} if absent, status "unreadable" if damaged or not a file)."""
    path = Path(run_dir) / METRICS_NAME
    if not path.exists():
        return {}
    try:
        metrics = json.loads(read_regular_text(path))
    except (OSError, ValueError):
        return {"status": "unreadable"}
    return metrics if isinstance(metrics, dict) else {"status": "unreadable"}


def read_overrides(run_dir: Path) -> list[str]:
    """The command-line overrides Hydra saved for a run ([] if there are none)."""
    import yaml

    try:
        items = yaml.safe_load(read_regular_text(Path(run_dir) / OVERRIDES_PATH))
    except (OSError, yaml.YAMLError):
        return []
    return [str(item) for item in items] if isinstance(items, list) else []


def read_starts(run_dir: Path) -> list[dict[str, Any]]:
    """The run's starts, oldest first ([] if it has no readable starts.json)."""
    try:
        starts = json.loads(read_regular_text(Path(run_dir) / STARTS_NAME)).get("starts")
    except (OSError, ValueError, AttributeError):
        return []
    return [s for s in starts if isinstance(s, dict)] if isinstance(starts, list) else []


def record_start(run_dir: Path, overrides: list[str], from_step: int, max_steps: int) -> None:
    """Add this start to starts.json (written by the process holding the run's lock)."""
    starts = read_starts(run_dir)
    starts.append({"started_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "from_step": from_step,
                   "max_steps": max_steps, "overrides": list(overrides)})
    write_json_atomic(Path(run_dir) / STARTS_NAME, {"starts": starts})


def write_traceback(run_dir: Path, text: str) -> None:
    (run_dir / TRACEBACK_NAME).write_text(text)


def is_job_dir(path: Path) -> bool:
    """A job directory: it has metrics.json or Hydra's .hydra/ folder."""
    return (path / METRICS_NAME).exists() or (path / HYDRA_DIR).is_dir()


def find_run_dirs(root: Path) -> list[Path]:
    """Every run folder anywhere under `root` (root itself included), unordered."""
    run_dirs = {p.parent for p in root.rglob(METRICS_NAME)}
    run_dirs |= {p.parent.parent for p in root.rglob(OVERRIDES_PATH.name) if p.parent.name == HYDRA_DIR}
    return list(run_dirs)


def sweep_job_dirs(sweep_dir: Path) -> list[Path]:
    """The job directories directly inside a sweep directory, in job order (0, 1, ..., 10)."""
    candidates = [p for p in sweep_dir.iterdir() if p.is_dir()] if sweep_dir.is_dir() else []
    ordered = sorted(candidates, key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0, p.name))
    return [p for p in ordered if is_job_dir(p)]


# Files that make a folder a run's or a sweep's for tools that write outputs (not tb/: a
# project folder may well hold a tb/ of its own).
OWNED_MARKERS = (METRICS_NAME, CHECKPOINT_NAME, str(OVERRIDES_PATH), SWEEP_CONFIG_NAME, JOURNAL_NAME, LOCK_NAME)


def owning_run_folder(path: Path) -> Path | None:
    """The run directory or sweep folder `path` lies in (itself included), if any."""
    resolved = Path(os.path.abspath(path))
    try:
        resolved = resolved.resolve()  # a symlink into a run is inside it
    except OSError:
        pass
    for folder in (resolved, *resolved.parents):
        if any((folder / marker).exists() for marker in OWNED_MARKERS):
            return folder
    return None


def check_output_path(path: Path, suffixes: tuple[str, ...], what: str) -> None:
    """Refuse an output path (a report, a plot) that would write over a run's files: any
    path inside a run directory or sweep folder, anything but a regular file, or an
    existing file of another kind (its name does not end in one of `suffixes`)."""
    owner = owning_run_folder(Path(os.path.abspath(path)).parent)  # "run/.." is not inside run
    if owner is not None:
        raise RunDirError(f"{what} {path} is inside {owner}, which holds a run or a sweep: tools never write among "
                          "a run's files; give a path outside it")
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise RunDirError(f"{what} {path} exists and is not a regular file; give a new file name")
    if path.exists() and path.suffix.lower() not in suffixes:
        raise RunDirError(f"{what} {path} exists and is not a {' or '.join(suffixes)} file; "
                          "give a new file name (nothing was written)")


def checkpoint_in(path: Path) -> Path:
    """The checkpoint a user means by `path`: the file itself, or the one in a run directory."""
    if not path.exists():
        raise RunDirError(f"{path} does not exist; give a run directory or a checkpoint file")
    candidate = path / CHECKPOINT_NAME if path.is_dir() else path
    if candidate.exists() and not candidate.is_file():  # a FIFO or device: reading it may block forever
        raise RunDirError(f"{candidate} is not a regular file; give a checkpoint wavenet-train wrote")
    if not candidate.is_file():
        raise RunDirError(f"{path} holds no {CHECKPOINT_NAME}; give the directory of a wavenet-train run")
    return candidate


# ---------------------------------------------------------------- a run directory belongs to one run


def register_unique_resolver() -> None:
    """`${wavenet_unique:}` -> a random token, the same for every read of one config."""
    if not OmegaConf.has_resolver(UNIQUE_RESOLVER):
        OmegaConf.register_new_resolver(UNIQUE_RESOLVER, lambda: secrets.token_hex(TOKEN_BYTES), use_cache=True)


def run_markers(run_dir: Path) -> list[str]:
    """The names in `run_dir` that show a run already lives there ([] for a fresh folder)."""
    return [name for name in RUN_MARKERS if (run_dir / name).exists()]


def resumes_in_place(resume: Any, run_dir: Path) -> bool:
    """resume=true, or resume=<this directory or its checkpoint>: the run continues here."""
    if resume is True:
        return True
    if isinstance(resume, str) and resume.strip():
        target = Path(resume)
        target = target.parent if target.name == CHECKPOINT_NAME else target
        try:
            return target.resolve() == run_dir.resolve()
        except OSError:
            return False
    return False


def check_free(run_dir: Path, resume: Any) -> None:
    """Refuse a directory that holds a run unless this run continues it."""
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirTaken(f"run directory {run_dir} is a file, not a folder; choose another hydra.run.dir")
    check_not_locked(run_dir)
    markers = run_markers(run_dir)
    if markers and not resumes_in_place(resume, run_dir):
        raise RunDirTaken(
            f"{run_dir} already holds a run ({', '.join(markers)}); continue it with resume=true "
            f"hydra.run.dir={run_dir}, or leave out hydra.run.dir for a new directory"
        )


class FolderLock:
    """An exclusive flock on <folder>/.wavenet.lock, held while this process works in the folder.

    The lock file is never removed (removing it while another process waits on it would let
    two processes hold "the" lock); it holds the pid of the last holder, for the message a
    second process gets. Closing the file (release(), garbage collection, process death)
    drops the lock.
    """

    def __init__(self, folder: Path, file: IO):
        self.folder, self.file = folder, file

    def release(self) -> None:
        if not self.file.closed:
            self.file.close()


def _in_use(folder: Path, what: str, lock_file: IO) -> RunDirTaken:
    key = "hydra.sweep.dir" if what == "sweep folder" else "hydra.run.dir"
    lock_file.seek(0)
    pid = lock_file.read(32).strip() or "unknown"
    lock_file.close()
    return RunDirTaken(f"{folder} is in use by another process (pid {pid}); one process at a time works in a {what}: "
                       f"wait for it to end (or stop it), or leave out {key} for a new folder")


def lock_folder(folder: Path, what: str = "run directory", shared: bool = False) -> FolderLock:
    """Take the folder's lock (it must exist) or raise RunDirTaken naming the holder's pid.
    `shared`: the workers of one Optuna search may share its folder (each trial has its own
    job folder, and the study hands each worker other trials); nobody else may."""
    try:
        lock_file = open(folder / LOCK_NAME, "a+")  # never truncates another holder's pid
    except OSError as err:
        raise RunDirTaken(f"cannot write in the {what} {folder}: {err.strerror or err}") from None
    if not Path(folder / LOCK_NAME).is_file():
        lock_file.close()
        raise RunDirTaken(f"{folder / LOCK_NAME} is not a regular file; remove it to use this {what}")
    try:
        fcntl.flock(lock_file, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _in_use(folder, what, lock_file) from None
    lock_file.seek(0)
    lock_file.truncate()
    lock_file.write(f"{os.getpid()}\n")
    lock_file.flush()
    return FolderLock(folder, lock_file)


def check_not_locked(folder: Path, what: str = "run directory", shared: bool = False) -> None:
    """Refuse early (before any work) a folder another live process holds (`shared`: one
    that another process holds exclusively); writes nothing."""
    try:
        read_regular_text(folder / LOCK_NAME)  # not a FIFO someone left there (it would block)
        lock_file = open(folder / LOCK_NAME)
    except OSError:
        return  # no lock file (or unreadable): the claim decides
    try:
        fcntl.flock(lock_file, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _in_use(folder, what, lock_file) from None
    lock_file.close()


def claim(run_dir: Path, resume: Any) -> FolderLock:
    """Make the directory and take it: its lock for as long as the run goes on, and
    metrics.json created exclusively (kept by a resume). The caller releases the lock."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RunDirTaken(f"cannot create the run directory {run_dir}: {err.strerror or err}") from None
    lock = lock_folder(run_dir)
    if resumes_in_place(resume, run_dir):
        return lock
    try:
        _create_metrics_exclusively(run_dir)
    except BaseException:
        lock.release()
        raise
    return lock


def _create_metrics_exclusively(run_dir: Path) -> None:
    try:
        fd = os.open(run_dir / METRICS_NAME, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        raise RunDirTaken(
            f"{run_dir} was taken by another run started at the same time; leave out hydra.run.dir for a new directory"
        ) from None
    except OSError as err:
        raise RunDirTaken(f"cannot write in the run directory {run_dir}: {err.strerror or err}") from None
    os.close(fd)


def save_hydra_files(run_dir: Path, task_cfg: Any, hydra_cfg: Any, overrides: Any) -> None:
    """What Hydra writes to .hydra/ (config.yaml, hydra.yaml, overrides.yaml), from plain
    containers the caller has already cleaned of secrets."""
    folder = run_dir / HYDRA_DIR
    folder.mkdir(exist_ok=True)
    for name, node in (("config.yaml", task_cfg), ("hydra.yaml", hydra_cfg), ("overrides.yaml", overrides)):
        text = OmegaConf.to_yaml(OmegaConf.create(node))
        write_atomic(folder / name, lambda f, text=text: f.write(text))


def missing_ancestors(run_dir: Path) -> list[Path]:
    """The folders of `run_dir` (itself first) that do not exist yet."""
    missing = []
    for folder in (run_dir, *run_dir.parents):
        if folder.exists():
            break
        missing.append(folder)
    return missing


def remove_if_empty(folders: list[Path]) -> None:
    """Undo the folders a refused run had made for it: deepest first, only while empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


# The folders Hydra is about to create for this process's single run (see RunDirGuard).
CREATED_FOR_THIS_RUN: list[Path] = []
# The sweep folder this process sweeps into: locked until the process ends.
SWEEP_LOCKS: list[FolderLock] = []
OPTUNA_SWEEPER = "wavenet_optuna"


class RunDirGuard(Callback):
    """Hydra callback (conf/train.yaml hydra.callbacks), before Hydra makes any folder.

    A single run notes which folders of its run directory do not exist yet, so a refused
    run can remove them again. A multirun is refused (one line, exit 2, nothing written):
    on hydra/launcher=slurm without SLURM; with hydra.launcher.n_jobs=0; into a sweep
    folder another live process sweeps into (its lock; the workers of one search share
    theirs, as docs/sweeps.md runs them); into a folder that already holds a
    sweep's jobs unless resume=true; a search (hydra/sweeper=wavenet_optuna) into a folder
    that holds a plain sweep or another study's search (a search folder is its study's
    home: running the same command again continues the study, in new job folders). Then
    the sweep folder is made and locked for the rest of the process.
    """

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        CREATED_FOR_THIS_RUN[:] = missing_ancestors(Path(str(config.hydra.run.dir)))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # A multirun earlier in this process (tests run many) may have ended without
        # on_multirun_end (a summary that exits first): its sweep is over, so is its lock.
        self.on_multirun_end(config)
        launcher = str(config.hydra.launcher.get("_target_", ""))
        if "slurm" in launcher.lower() and shutil.which("sbatch") is None:  # before the sweep folder is made
            _refuse("hydra/launcher=slurm needs a SLURM cluster (no sbatch on this machine); "
                    "use hydra/launcher=parallel here")
        if "joblib" in launcher.lower() and config.hydra.launcher.get("n_jobs") == 0:
            _refuse("hydra.launcher.n_jobs=0 is not allowed: give the number of jobs to run at once "
                    "(1 or more; -1: one per core)")
        sweep_dir = Path(str(config.hydra.sweep.dir))
        search = _sweep_kind(config.hydra.sweeper) == "search"  # its workers may share the folder
        try:
            if sweep_dir.is_dir():
                check_not_locked(sweep_dir, "sweep folder", shared=search)
            problem = _sweep_folder_problem(config, sweep_dir)
            if problem:
                _refuse(problem)
            try:
                sweep_dir.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                _refuse(f"cannot create the sweep folder {sweep_dir}: {err.strerror or err}")
            SWEEP_LOCKS.append(lock_folder(sweep_dir, "sweep folder", shared=search))
        except RunDirTaken as err:
            _refuse(str(err))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        while SWEEP_LOCKS:  # a sweep that raised keeps its lock until the process ends
            SWEEP_LOCKS.pop().release()


FRESH_SWEEP = "leave out hydra.sweep.dir for a new folder"


def _sweep_kind(sweeper: Any) -> str:
    target = str(sweeper.get("_target_", "")) if sweeper is not None else ""
    return "search" if OPTUNA_SWEEPER in target.lower() else "sweep"


def _sweep_folder_problem(config: DictConfig, sweep_dir: Path) -> str | None:
    """Why this multirun may not use `sweep_dir` (None: it may)."""
    saved_path = sweep_dir / SWEEP_CONFIG_NAME
    if not saved_path.exists():
        return None
    kind = _sweep_kind(config.hydra.sweeper)
    try:
        saved = OmegaConf.load(io.StringIO(read_regular_text(saved_path)))
        saved_sweeper = saved.hydra.sweeper
    except Exception:  # damaged or not Hydra's: whose folder it is cannot be told
        return f"{sweep_dir} holds a {SWEEP_CONFIG_NAME} that cannot be read; {FRESH_SWEEP}"
    saved_kind = _sweep_kind(saved_sweeper)
    fresh = FRESH_SWEEP
    if kind != saved_kind:
        what = "an Optuna search" if saved_kind == "search" else "a plain sweep"
        return f"{sweep_dir} holds {what}; a {kind} cannot continue it there: {fresh}"
    if kind == "search":
        for key in ("study_name", "storage"):
            mine, theirs = masked(str(config.hydra.sweeper.get(key))), masked(str(saved_sweeper.get(key)))
            if mine != theirs:
                return (f"{sweep_dir} holds the search with hydra.sweeper.{key}={masked(str(theirs))}; "
                        f"continue it with that {key}, or {fresh}")
        return None
    if config.get("resume") is not True:
        return (f"{sweep_dir} already holds a sweep ({SWEEP_CONFIG_NAME}); continue its jobs with resume=true "
                f"hydra.sweep.dir={sweep_dir}, or {fresh}")
    return None


def _refuse(message: str) -> None:
    print(f"wavenet-train: error: {message}", file=sys.stderr)
    sys.exit(2)  # SystemExit passes through Hydra's callback guard on purpose


def explain_os_error(err: BaseException) -> str | None:
    """A folder or file the user pointed at that cannot be made or written, in one line."""
    if isinstance(err, OSError) and err.filename:
        return f"cannot create or write {err.filename}: {err.strerror or type(err).__name__}"
    return None
