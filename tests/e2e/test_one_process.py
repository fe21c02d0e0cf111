"""One process owns a run directory or a sweep folder at a time (tracking/rundir.py).

The lock is a real flock taken by this test's process (another process than the
`wavenet-train` it starts), so the refusals below are what a user meets when a second
terminal points at a folder that a first one is still using. A holder killed by SIGKILL
leaves no lock behind: the kernel drops it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from helpers import REPO, TINY_OVERRIDES, assert_one_error_line, read_metrics
from wavenet_harness.base.errors import RunDirTaken
from wavenet_harness.tracking import rundir


def test_a_second_lock_names_the_holder_and_a_killed_holder_leaves_none(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    held = rundir.lock_folder(folder)
    # Another process asks for the same folder: refused, naming this process.
    code = (
        "import sys; from pathlib import Path; from wavenet_harness.tracking import rundir\n"
        "from wavenet_harness.base.errors import RunDirTaken\n"
        "try:\n    rundir.lock_folder(Path(sys.argv[1]))\nexcept RunDirTaken as err:\n    print(err)"
    )
    refused = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, timeout=60)
    assert f"is in use by another process (pid {os.getpid()})" in refused.stdout, refused.stderr
    with pytest.raises(RunDirTaken, match=f"pid {os.getpid()}"):
        rundir.check_free(folder, resume=True)
    held.release()
    rundir.check_free(folder, resume=True)

    # A holder killed with SIGKILL: the next process gets the folder at once.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from wavenet_harness.tracking import rundir; "
            "lock = rundir.lock_folder(Path(sys.argv[1])); "
            "print('locked', flush=True); time.sleep(600)",
            str(folder),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(RunDirTaken, match=f"pid {holder.pid}"):
        rundir.lock_folder(folder)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=60)
    rundir.lock_folder(folder).release()


def _untouched(run_dir):
    """Every file of a run but its lock file, with its modification time."""
    return sorted(
        (p.relative_to(run_dir), p.stat().st_mtime_ns) for p in run_dir.rglob("*") if p.name != rundir.LOCK_NAME
    )


def test_a_run_directory_in_use_refuses_a_second_resume_and_a_sweep_folder_a_second_sweep(
    tmp_path, tiny_words_file, cli
):
    run_dir = tmp_path / "run"
    first = cli([*TINY_OVERRIDES, "max_steps=20", f"data.path={tiny_words_file}", f"hydra.run.dir={run_dir}"], cwd=REPO)
    assert first.returncode == 0, first.stderr[-2000:]
    before = _untouched(run_dir)
    sweep_dir = tmp_path / "sweep"
    sweep_dir.mkdir()
    held = [rundir.lock_folder(run_dir), rundir.lock_folder(sweep_dir, "sweep folder")]
    try:
        cases = [
            [
                *TINY_OVERRIDES,
                "max_steps=40",
                f"data.path={tiny_words_file}",
                f"hydra.run.dir={run_dir}",
                "resume=true",
            ],
            [
                "--multirun",
                *TINY_OVERRIDES,
                f"data.path={tiny_words_file}",
                f"hydra.sweep.dir={sweep_dir}",
                "lr=0.1,0.2",
                "resume=true",
            ],
        ]
        results = cli.batch(cases, tmp_path)
    finally:
        for lock in held:
            lock.release()
    for result in results:
        assert_one_error_line(result["rc"], result["stderr"], f"is in use by another process (pid {os.getpid()})")
    # Nothing of the run was touched, and the sweep folder holds no job.
    after = _untouched(run_dir)
    assert after == before
    assert read_metrics(run_dir)["steps"] == 20
    assert sorted(p.name for p in sweep_dir.iterdir()) == [rundir.LOCK_NAME]


PLAIN = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
SEARCH = "hydra_plugins.wavenet_optuna_sweeper.sweeper.WavenetOptunaSweeper"


def _saved_sweep(folder, target: str, **sweeper) -> str:
    folder.mkdir()
    fields = "".join(f"    {key}: {value}\n" for key, value in sweeper.items())
    text = f"hydra:\n  sweeper:\n    _target_: {target}\n{fields}"
    (folder / "multirun.yaml").write_text(text)
    return text


def test_a_search_continues_only_its_own_study_in_its_own_folder(tmp_path, tiny_words_file, cli):
    plain, other = tmp_path / "plain", tmp_path / "other"
    saved = {plain: _saved_sweep(plain, PLAIN), other: _saved_sweep(other, SEARCH, study_name="theirs", storage="null")}
    search = [
        "--multirun",
        "hydra/sweeper=wavenet_optuna",
        *TINY_OVERRIDES,
        f"data.path={tiny_words_file}",
        "+hydra.sweeper.params.lr={type:float,low:0.01,high:0.5}",
        "hydra.sweeper.n_trials=1",
    ]
    results = cli.batch(
        [
            [*search, f"hydra.sweep.dir={plain}"],
            [*search, f"hydra.sweep.dir={other}", "hydra.sweeper.study_name=mine"],
            [
                "--multirun",
                *TINY_OVERRIDES,
                f"data.path={tiny_words_file}",
                f"hydra.sweep.dir={other}",
                "lr=0.1",
                "resume=true",
            ],
        ],
        tmp_path,
    )
    assert_one_error_line(results[0]["rc"], results[0]["stderr"], "holds a plain sweep; a search cannot continue it")
    assert_one_error_line(
        results[1]["rc"], results[1]["stderr"], "holds the search with hydra.sweeper.study_name=theirs"
    )
    assert_one_error_line(results[2]["rc"], results[2]["stderr"], "holds an Optuna search; a sweep cannot continue it")
    for folder, text in saved.items():  # nothing written over, no job started
        assert (folder / "multirun.yaml").read_text() == text
        assert sorted(p.name for p in folder.iterdir() if p.name != rundir.LOCK_NAME) == ["multirun.yaml"]


def test_workers_of_one_search_share_its_folder_and_nobody_else_does(tmp_path):
    folder = tmp_path / "search"
    folder.mkdir()
    first = rundir.lock_folder(folder, "sweep folder", shared=True)
    second = rundir.lock_folder(folder, "sweep folder", shared=True)  # a second worker of the same study
    with pytest.raises(RunDirTaken, match=f"pid {os.getpid()}"):
        rundir.check_not_locked(folder, "sweep folder")  # a plain sweep, or anything exclusive
    first.release()
    second.release()
    exclusive = rundir.lock_folder(folder, "sweep folder")
    with pytest.raises(RunDirTaken):
        rundir.check_not_locked(folder, "sweep folder", shared=True)
    exclusive.release()
