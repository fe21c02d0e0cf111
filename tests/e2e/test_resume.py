"""Checkpoints and resume through the CLI: crashes lose nothing, runs resume bit for bit.

One tiny job (hier, 240 steps, a checkpoint every 40) runs six times at once as real
processes: uninterrupted (the reference), killed with SIGKILL and stopped with Ctrl-C
(SIGINT), SIGTERM and SIGUSR1, each as soon as its first checkpoint exists; beside them a
two-job sweep gets Ctrl-C during its first job. Then one batch of CLI calls
(the `cli` fixture's batch: one torch import for all) runs the job again from scratch, resumes
the broken runs with `hydra.run.dir=<same dir> resume=true` (after Ctrl-C: the very
command that was printed) and tries broken checkpoints and resumes that would change
what defines the run (data, split, optimizer, schedule, max_steps), in place: those are
refused and leave every file of the finished run as it was. The final losses and
every parameter must equal the reference exactly; broken checkpoints are refused with
one line and exit code 2.
"""

from __future__ import annotations

import hashlib
import os
import random
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from helpers import TINY_WORDS, assert_identical, assert_one_error_line, read_metrics, write_tiny_words
from wavenet_harness.training.checkpoint import CheckpointError, load_checkpoint

MAX_STEPS, CHECKPOINT_EVERY = 240, 40
JOB = [
    f"max_steps={MAX_STEPS}",
    f"checkpoint_interval={CHECKPOINT_EVERY}",
    "eval_interval=80",
    "batch_size=8",
    "n_embd=4",
    "n_hidden=8",
    "log.progress=false",
    "log.smooth_window=25",
    "threads=1",
]


STOP_SIGNALS = {"sigterm": signal.SIGTERM, "sigusr1": signal.SIGUSR1}


def signal_at_first_checkpoint(targets: dict[str, tuple[subprocess.Popen, Path, int]], timeout: float = 240) -> None:
    """{name: (process, run dir, signal)}: each gets its signal as soon as its checkpoint exists."""
    deadline = time.monotonic() + timeout
    waiting = dict(targets)
    while waiting:
        for name, (process, run_dir, signum) in list(waiting.items()):
            if (run_dir / "checkpoint.pt").exists():
                process.send_signal(signum)
                del waiting[name]
            else:
                assert process.poll() is None, (
                    f"{name} ended before its first checkpoint: {process.communicate()[1][-2000:]}"
                )
        assert time.monotonic() < deadline, f"no checkpoint in time: {sorted(waiting)}"
        time.sleep(0.005)


def file_digests(folder: Path) -> dict[str, str]:
    """Every file under `folder` (relative path -> sha256): what must not change."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def load(run_dir: Path) -> dict:
    return torch.load(run_dir / "checkpoint.pt", weights_only=True)


def assert_same_run(run_dir: Path, reference_dir: Path) -> None:
    """Same final losses and the same parameters, optimizer state and step, bit for bit."""
    mine, ref = read_metrics(run_dir), read_metrics(reference_dir)
    assert mine["status"] == ref["status"] == "ok"
    assert (mine["train_loss"], mine["val_loss"]) == (ref["train_loss"], ref["val_loss"])
    a, b = load(run_dir), load(reference_dir)
    assert a["step"] == b["step"] == MAX_STEPS
    for part in ("model", "optimizer", "rng", "tracker"):
        assert_identical(a[part], b[part], part)


def broken_checkpoints(root: Path, reference: Path) -> tuple[dict, Path]:
    """{case: (overrides, text of the one error line)} and a file that must never appear."""
    good = (reference / "checkpoint.pt").read_bytes()
    truncated, garbage, hostile = root / "truncated.pt", root / "garbage.pt", root / "hostile.pt"
    truncated.write_bytes(good[: len(good) // 2])
    garbage.write_bytes(random.Random(0).randbytes(4096))
    marker = root / "code-ran"

    class RunsCode:  # what a hostile pickle does: call something while it is loaded
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    torch.save({"format_version": 1, "model": RunsCode()}, hostile)
    other_words = root / "other_words.txt"
    other_words.write_text("zoe\nxena\nquinn\n" * 10)
    same_alphabet = root / "same_alphabet.txt"
    same_alphabet.write_text("\n".join(TINY_WORDS[1:] + TINY_WORDS[:1] + ["emma"]) + "\n")
    in_place = [f"hydra.run.dir={reference}", "resume=true"]
    cases = {
        "truncated": ([f"resume={truncated}"], f"{truncated} is not a readable checkpoint (truncated, corrupt"),
        "garbage": ([f"resume={garbage}"], f"{garbage} is not a readable checkpoint (truncated, corrupt"),
        "hostile": ([f"resume={hostile}"], "it holds more than tensors and plain data, so it was not loaded"),
        "other shape": (
            [f"resume={reference}", "n_hidden=16"],
            "it was trained with n_hidden=8, this run has n_hidden=16",
        ),
        "other model": ([f"resume={reference}", "model=mlp"], "it was trained with depth=3, this run has depth=1"),
        "other vocabulary": (
            [f"resume={reference}", f"data.path={other_words}"],
            "trained on a vocabulary of 20 characters",
        ),
        "other words same alphabet": (
            [*in_place, f"data.path={same_alphabet}"],
            "is not the words file it was trained on",
        ),
        "other split seed": ([*in_place, "data.split_seed=1"], "its split seed is data.split_seed=42"),
        "other optimizer": (
            [*in_place, "optim=adamw"],
            "its optimizer is optim.name='sgd', this run has optim.name='adamw'",
        ),
        "other schedule": ([*in_place, "schedule=constant"], "its schedule is schedule.name='step'"),
        "max_steps below": ([*in_place, "max_steps=100"], f"it is at step {MAX_STEPS}, past max_steps=100"),
        "reused without resume": ([f"hydra.run.dir={reference}"], f"{reference} already holds a run"),
        "bad data into a run": (
            [f"hydra.run.dir={reference}", f"data.path={root / 'missing.txt'}"],
            "already holds a run",
        ),
    }
    return cases, marker


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, cli):
    root = tmp_path_factory.mktemp("resume")
    words = write_tiny_words(root)
    job = [*JOB, f"data.path={words}"]
    dirs = {name: root / name for name in ("reference", "killed", "interrupted", "again", "sweep")}
    dirs.update({name: root / name for name in STOP_SIGNALS})
    processes = {
        name: cli.start([*job, f"hydra.run.dir={dirs[name]}"], root)
        for name in ("reference", "killed", "interrupted", *STOP_SIGNALS)
    }
    # A two-job sweep whose first job is the reference job (seed 42 is the default).
    processes["sweep"] = cli.start(["--multirun", "seed=42,7", *job, f"hydra.sweep.dir={dirs['sweep']}"], root)
    stops = {
        "killed": (dirs["killed"], signal.SIGKILL),
        "interrupted": (dirs["interrupted"], signal.SIGINT),
        "sweep": (dirs["sweep"] / "0", signal.SIGINT),
        **{n: (dirs[n], s) for n, s in STOP_SIGNALS.items()},
    }
    signal_at_first_checkpoint({name: (processes[name], *stop) for name, stop in stops.items()})
    stderr = {name: p.communicate(timeout=300)[1] for name, p in processes.items()}
    done = {name: (p.returncode, stderr[name]) for name, p in processes.items()}
    assert done["reference"][0] == 0, done["reference"][1][-3000:]
    before_resume = {
        name: (load(dirs[name])["step"], read_metrics(dirs[name])) for name in ("killed", "interrupted", *STOP_SIGNALS)
    }
    reference_files = file_digests(dirs["reference"])
    sweep_jobs_before_resume = sorted(p.name for p in dirs["sweep"].iterdir() if p.is_dir())

    printed_command = line_after(done["interrupted"][1], "Resume with:")
    printed_sweep_command = line_after(done["sweep"][1], "Resume all its jobs with:")
    broken, marker = broken_checkpoints(root, dirs["reference"])
    calls = {
        "again": [*job, f"hydra.run.dir={dirs['again']}"],
        "resume killed": [*job, f"hydra.run.dir={dirs['killed']}", "resume=true"],
        "resume interrupted": shlex.split(printed_command)[1:],
        "resume sweep": shlex.split(printed_sweep_command)[1:],
        **{f"resume {name}": [*job, f"hydra.run.dir={dirs[name]}", "resume=true"] for name in STOP_SIGNALS},
        # The in-place cases carry their own hydra.run.dir; Hydra takes the last one given.
        **{name: [*job, f"hydra.run.dir={root / 'broken' / name}", *args] for name, (args, _) in broken.items()},
    }
    results = dict(zip(calls, cli.batch(list(calls.values()), root), strict=True))
    return dict(
        dirs=dirs,
        done=done,
        before_resume=before_resume,
        printed_command=printed_command,
        reference_files=reference_files,
        reference_files_after=file_digests(dirs["reference"]),
        root=root,
        printed_sweep_command=printed_sweep_command,
        sweep_jobs_before_resume=sweep_jobs_before_resume,
        results=results,
        broken=broken,
        marker=marker,
    )


def line_after(text: str, marker: str) -> str:
    lines = text.splitlines()
    hits = [i for i, line in enumerate(lines) if marker in line]
    return lines[hits[0] + 1].strip() if hits and hits[0] + 1 < len(lines) else ""


def test_same_seed_same_config_gives_the_same_numbers(scenario):
    assert scenario["results"]["again"]["rc"] == 0, scenario["results"]["again"]["stderr"][-3000:]
    assert_same_run(scenario["dirs"]["again"], scenario["dirs"]["reference"])


def test_checkpoint_holds_everything_needed_to_continue(scenario):
    state = load(scenario["dirs"]["reference"])
    assert {"model", "optimizer", "step", "rng", "tracker", "config", "vocab"} <= state.keys()
    assert state["step"] == MAX_STEPS
    assert any(name.endswith("running_mean") for name in state["model"])  # batchnorm buffers too
    assert state["optimizer"]["param_groups"][0]["lr"] > 0
    assert state["rng"]["torch"].dtype == torch.uint8 and len(state["rng"]["python"]) == 3
    assert "smoother" in state["tracker"]  # a half-full smoothing window carries over
    assert state["config"]["n_hidden"] == 8 and state["vocab"] == sorted(set("".join(TINY_WORDS)))


def test_sigkill_mid_run_then_resume_matches_the_uninterrupted_run(scenario):
    rc, _ = scenario["done"]["killed"]
    assert rc == -signal.SIGKILL
    killed_at, metrics = scenario["before_resume"]["killed"]
    assert killed_at < MAX_STEPS and killed_at % CHECKPOINT_EVERY == 0  # the kill landed mid-run
    assert metrics["status"] == "running"

    resumed = scenario["results"]["resume killed"]
    run_dir = scenario["dirs"]["killed"]
    assert resumed["rc"] == 0, resumed["stderr"][-3000:]
    assert f"resuming from {run_dir / 'checkpoint.pt'} at step {killed_at}" in resumed["stderr"]
    assert read_metrics(run_dir)["resumed_from_step"] == killed_at
    assert_same_run(run_dir, scenario["dirs"]["reference"])


def test_ctrl_c_saves_exits_130_says_how_to_resume_and_that_command_matches(scenario):
    rc, stderr = scenario["done"]["interrupted"]
    assert rc == 130, stderr[-3000:]
    assert "Traceback" not in stderr
    stopped_at, metrics = scenario["before_resume"]["interrupted"]
    assert 0 < stopped_at < MAX_STEPS
    assert metrics["status"] == "interrupted" and metrics["steps"] == stopped_at

    run_dir = scenario["dirs"]["interrupted"]
    command = scenario["printed_command"]
    assert command.startswith("wavenet-train ") and f"hydra.run.dir={run_dir}" in command
    assert command.endswith("resume=true")
    resumed = scenario["results"]["resume interrupted"]
    assert resumed["rc"] == 0, resumed["stderr"][-3000:]
    assert f"at step {stopped_at}" in resumed["stderr"]
    assert_same_run(run_dir, scenario["dirs"]["reference"])


def test_ctrl_c_stops_a_sweep_and_the_printed_command_resumes_all_its_jobs(scenario):
    rc, stderr = scenario["done"]["sweep"]
    assert rc == 130, stderr[-3000:]
    assert scenario["sweep_jobs_before_resume"] == ["0"]  # the second job never started
    sweep_dir = scenario["dirs"]["sweep"]
    command = scenario["printed_sweep_command"]
    assert command.startswith("wavenet-train --multirun seed=42,7 ") and command.endswith(
        f"hydra.sweep.dir={sweep_dir} resume=true"
    )
    resumed = scenario["results"]["resume sweep"]
    assert resumed["rc"] == 0, resumed["stderr"][-3000:]
    assert_same_run(sweep_dir / "0", scenario["dirs"]["reference"])
    assert read_metrics(sweep_dir / "1")["status"] == "ok"


@pytest.mark.parametrize("name", list(STOP_SIGNALS))
def test_sigterm_and_sigusr1_save_a_checkpoint_at_that_step_and_resume_bit_for_bit(scenario, name):
    rc, stderr = scenario["done"][name]
    signum = STOP_SIGNALS[name]
    assert rc == 128 + signum, stderr[-3000:]
    assert "Traceback" not in stderr and "Resume with:" in stderr
    stopped_at, metrics = scenario["before_resume"][name]
    assert 0 < stopped_at < MAX_STEPS
    # The checkpoint is the one written when the signal came, not the last interval's.
    assert metrics["status"] == "interrupted" and metrics["steps"] == stopped_at
    assert metrics["signal"] == signal.Signals(signum).name
    resumed = scenario["results"][f"resume {name}"]
    assert resumed["rc"] == 0, resumed["stderr"][-3000:]
    assert f"at step {stopped_at}" in resumed["stderr"]
    assert_same_run(scenario["dirs"][name], scenario["dirs"]["reference"])


BROKEN = [
    "truncated",
    "garbage",
    "hostile",
    "other shape",
    "other model",
    "other vocabulary",
    "other words same alphabet",
    "other split seed",
    "other optimizer",
    "other schedule",
    "max_steps below",
    "reused without resume",
    "bad data into a run",
]


@pytest.mark.parametrize("case", BROKEN)
def test_broken_or_foreign_checkpoint_is_refused_with_one_line(scenario, case):
    result = scenario["results"][case]
    assert_one_error_line(result["rc"], result["stderr"], scenario["broken"][case][1])
    assert not scenario["marker"].exists(), "loading a checkpoint ran code stored in it"
    assert not (scenario["root"] / "broken" / case).exists(), "a refused run made its directory"


def test_refused_resumes_and_reuses_leave_the_finished_run_as_it_was(scenario):
    assert scenario["reference_files"] and scenario["reference_files_after"] == scenario["reference_files"]
    assert {".hydra/config.yaml", ".hydra/overrides.yaml", "metrics.json", "checkpoint.pt"} <= set(
        scenario["reference_files"]
    )


def test_any_damage_to_a_checkpoint_is_a_checkpoint_error(scenario, tmp_path):
    """Every cut of a real checkpoint and seeded random bytes: CheckpointError, one line."""
    good = (scenario["dirs"]["reference"] / "checkpoint.pt").read_bytes()
    rng = random.Random(0)
    damaged = [good[:cut] for cut in range(0, len(good), max(1, len(good) // 40))]
    damaged += [rng.randbytes(rng.randint(1, 4096)) for _ in range(200)]
    path = tmp_path / "checkpoint.pt"
    for content in damaged:
        path.write_bytes(content)
        with pytest.raises(CheckpointError) as caught:
            load_checkpoint(path)
        assert "\n" not in str(caught.value)
