"""A full disk while a run saves its checkpoint: one line, and the checkpoint saved before
stays whole (checkpoints are written to a temporary file and renamed into place).

The disk is real: an 8 MiB tmpfs mounted for the test (root only; skipped elsewhere),
filled until a checkpoint no longer fits but the run's small files still do.
"""

from __future__ import annotations

import os
import subprocess

import pytest
import torch

from helpers import REPO, TINY_OVERRIDES

# A model whose checkpoint (~200 KB) is far bigger than the run's other files.
BIG = [*TINY_OVERRIDES, "n_embd=10", "n_hidden=100", "log.samples=0"]


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def _fill(disk, leave: int) -> None:
    """Fill the disk until about `leave` bytes are free."""
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    with open(disk / "filler", "wb") as f:
        f.write(b"\0" * max(0, free - leave))


def test_a_full_disk_at_a_checkpoint_is_one_line_and_keeps_the_checkpoint_before(small_disk, tiny_words_file, cli):
    run_dir = small_disk / "run"
    first = cli([*BIG, "max_steps=20", f"data.path={tiny_words_file}", f"hydra.run.dir={run_dir}"], cwd=REPO)
    assert first.returncode == 0, first.stderr[-2000:]
    before = (run_dir / "checkpoint.pt").read_bytes()
    assert len(before) > 100_000
    _fill(small_disk, leave=64 * 1024)
    resumed = cli(
        [*BIG, "max_steps=40", f"data.path={tiny_words_file}", f"hydra.run.dir={run_dir}", "resume=true"], cwd=REPO
    )
    lines = resumed.stderr.strip().splitlines()
    assert resumed.returncode == 2 and "Traceback" not in resumed.stderr, resumed.stderr
    assert lines[:-1] == [f"resuming from {run_dir / 'checkpoint.pt'} at step 20"], resumed.stderr  # then one line:
    assert lines[-1].startswith(
        f"wavenet-train: error: cannot write in {run_dir / 'checkpoint.pt'}: No space left on device"
    ), lines[-1]
    assert lines[-1].endswith("the checkpoint saved before (step 20) is intact")
    assert (run_dir / "checkpoint.pt").read_bytes() == before
    assert torch.load(run_dir / "checkpoint.pt", weights_only=True)["step"] == 20
    assert not [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")]  # no half-written file left
    # Space again: the same command continues from step 20 and finishes.
    (small_disk / "filler").unlink()
    again = cli(
        [*BIG, "max_steps=40", f"data.path={tiny_words_file}", f"hydra.run.dir={run_dir}", "resume=true"], cwd=REPO
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resuming from" in again.stderr and "at step 20" in again.stderr
