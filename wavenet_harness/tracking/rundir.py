"""The run directory as a place: who may work in it, and where outputs may not go.

What a run directory holds, and its record (metrics.json), are base/records.py's. Here:

A run directory belongs to one run (README "When things go wrong"):
  - default directories end in a random token (`runs/<date>/<H-M-S>-<token>`,
    `${wavenet_unique:}` in conf/train.yaml, adapter/callbacks.py), so runs started in
    the same second, on one machine or many, get different directories;
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
  - tools that write outputs (reports, plots) never write inside a run or sweep folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO, Any

from wavenet_harness.base.errors import RunDirError, RunDirTaken
from wavenet_harness.base.files import read_regular_text
from wavenet_harness.base.records import (
    CHECKPOINT_NAME,
    HYDRA_DIR,
    JOURNAL_NAME,
    METRICS_NAME,
    OVERRIDES_PATH,
    SWEEP_CONFIG_NAME,
    TENSORBOARD_DIR,
    TRACEBACK_NAME,
)

LOCK_NAME = ".wavenet.lock"  # flock'ed by the one process working in a run directory or sweep folder
# What marks a folder as holding a run (any one of them).
RUN_MARKERS = (METRICS_NAME, CHECKPOINT_NAME, TENSORBOARD_DIR, HYDRA_DIR)


def tensorboard_dir(run_dir: Path, label: str = "") -> Path:
    """Where a run's TensorBoard events go: tb/, or tb/<label>/ for a job of a sweep."""
    return Path(run_dir) / TENSORBOARD_DIR / label if label else Path(run_dir) / TENSORBOARD_DIR


def write_traceback(run_dir: Path, text: str) -> None:
    (run_dir / TRACEBACK_NAME).write_text(text)


# Files that make a folder a run's or a sweep's for tools that write outputs (not tb/: a
# project folder may well hold a tb/ of its own).
OWNED_MARKERS = (METRICS_NAME, CHECKPOINT_NAME, str(OVERRIDES_PATH), SWEEP_CONFIG_NAME, JOURNAL_NAME, LOCK_NAME)


def owning_run_folder(path: Path) -> Path | None:
    """The run directory or sweep folder `path` lies in (itself included), if any."""
    resolved = Path(os.path.abspath(path))
    with contextlib.suppress(OSError):
        resolved = resolved.resolve()  # a symlink into a run is inside it
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
        raise RunDirError(
            f"{what} {path} is inside {owner}, which holds a run or a sweep: tools never write among "
            "a run's files; give a path outside it"
        )
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise RunDirError(f"{what} {path} exists and is not a regular file; give a new file name")
    if path.exists() and path.suffix.lower() not in suffixes:
        raise RunDirError(
            f"{what} {path} exists and is not a {' or '.join(suffixes)} file; "
            "give a new file name (nothing was written)"
        )


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
    return RunDirTaken(
        f"{folder} is in use by another process (pid {pid}); one process at a time works in a {what}: "
        f"wait for it to end (or stop it), or leave out {key} for a new folder"
    )


def lock_folder(folder: Path, what: str = "run directory", shared: bool = False) -> FolderLock:
    """Take the folder's lock (it must exist) or raise RunDirTaken naming the holder's pid.
    `shared`: the workers of one Optuna search may share its folder (each trial has its own
    job folder, and the study hands each worker other trials); nobody else may."""
    try:
        # The open file is the lock: FolderLock keeps it and closes it on release.
        lock_file = open(folder / LOCK_NAME, "a+")  # noqa: SIM115  (never truncates another holder's pid)
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
        lock_file = open(folder / LOCK_NAME)  # noqa: SIM115  (closed below; _in_use closes it when held)
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
