"""Files that are whole or absent: atomic writes, JSON without NaN, reads that never block.

Every file the harness writes (metrics, checkpoints, starts, reports, plots, Hydra's
.hydra/ files) goes through `write_atomic` (a temporary file in the same folder, then a
rename), so a reader never sees half a file and a full disk leaves the old file whole;
every JSON goes through `json_text`, so none holds a bare NaN. Reads of a run's files
go through `read_regular_text`, which refuses a FIFO or device instead of blocking on it.
"""

from __future__ import annotations

import errno
import json
import math
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

# errno values that mean "no room to write", not "you may not write here".
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def is_disk_full(err: BaseException) -> bool:
    return isinstance(err, OSError) and err.errno in DISK_FULL_ERRNOS


def _current_umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it: put it straight back
    os.umask(mask)
    return mask


# Read once, at import (before any thread starts): mkstemp makes files 0600 whatever the umask,
# which would hide every run from another user's wavenet-report.
FILE_MODE = 0o666 & ~_current_umask()


def write_atomic(
    path: str | os.PathLike, write: Callable[[IO], object], binary: bool = False, suffix: str = ".tmp"
) -> Path:
    """Write a file through a temporary file in the same folder and rename it into place,
    with the mode a plain open() would give it (0666 less the umask)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=suffix)
    try:
        os.fchmod(fd, FILE_MODE)
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


class NotARegularFile(OSError):
    """A FIFO, socket or device where a run's file should be: never read (it could block forever)."""


def read_regular_text(path: str | os.PathLike) -> str:
    """A file's text, refusing anything but a regular file without blocking on it
    (O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever)."""
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
