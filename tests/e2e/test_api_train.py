"""The Python API keeps the CLI's guarantees: wavenet_harness.train() against `wavenet-train` bit for
bit, mistakes as the CLI's one line (a UserError, never SystemExit), a stop resumed bit for bit,
and calls in one process (or from two threads) that leave nothing behind.

The reference is the real console script in a subprocess (`python -m wavenet_harness.cli.train`
on this checkout); the API runs in this test's process, as a notebook's kernel would run it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
import yaml

import wavenet_harness as wh
from helpers import REPO, TINY_OVERRIDES, assert_identical, read_metrics, write_tiny_words
from wavenet_harness.tracking.curves import scalars

JOB = [*TINY_OVERRIDES, "checkpoint_interval=30", "log.samples=2"]
LONG = [o for o in JOB if not o.startswith(("max_steps=", "checkpoint_interval="))] + [
    "max_steps=1500",
    "checkpoint_interval=50",
]


def env() -> dict[str, str]:
    return dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        HYDRA_FULL_ERROR="0",
        PYTHONUNBUFFERED="1",
    )


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wavenet_harness.cli.train", *map(str, args)],
        cwd=cwd,
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The CLI's run of JOB on the tiny words, in its own folder (words.txt beside it)."""
    root = tmp_path_factory.mktemp("cli")
    write_tiny_words(root)
    done = run_cli([*JOB, "data.path=words.txt", f"hydra.run.dir={root / 'run'}"], root)
    assert done.returncode == 0, done.stderr[-3000:]
    return root / "run"


def curves(run_dir: Path) -> list[tuple]:
    return [(row.tag, row.step, row.value) for row in scalars(run_dir)]


def assert_same_numbers(run_dir: Path, reference_dir: Path) -> None:
    """Losses, steps, the checkpoint (weights, optimizer, random states, tracker) and every logged scalar."""
    mine, ref = read_metrics(run_dir), read_metrics(reference_dir)
    assert mine["status"] == ref["status"] == "ok"
    assert (mine["steps"], mine["train_loss"], mine["val_loss"]) == (ref["steps"], ref["train_loss"], ref["val_loss"])
    a, b = (torch.load(d / "checkpoint.pt", weights_only=True) for d in (run_dir, reference_dir))
    for part in ("model", "optimizer", "rng", "tracker", "step"):
        assert_identical(a[part], b[part], part)
    assert curves(run_dir) == curves(reference_dir)


def test_train_is_wavenet_train_bit_for_bit_and_leaves_the_process_as_it_was(tmp_path, monkeypatch, reference):
    monkeypatch.chdir(reference.parent)  # the same current folder as the CLI's: data.path=words.txt, runtime.cwd
    torch.set_num_threads(3)
    torch.manual_seed(123)
    random.seed(7)
    before = (torch.get_rng_state(), random.getstate())
    run = wh.train(*JOB, data={"path": "words.txt"}, run_dir=tmp_path / "api")
    assert torch.get_num_threads() == 3  # the run used threads=1, then gave the caller's count back
    assert torch.equal(torch.get_rng_state(), before[0]) and random.getstate() == before[1]

    assert run.dir == tmp_path / "api" and run.status == "ok"
    assert_same_numbers(run.dir, reference)
    expected = read_metrics(reference)
    assert (run.val_loss, run.train_loss) == (expected["val_loss"], expected["train_loss"])
    assert sorted(p.name for p in run.dir.iterdir()) == sorted(p.name for p in reference.iterdir())
    # .hydra/ as the CLI writes it: the same config and overrides, Hydra's node but for the run's own folder
    for name in ("config.yaml", "overrides.yaml"):
        assert (run.dir / ".hydra" / name).read_text() == (reference / ".hydra" / name).read_text(), name
    api_hydra = (run.dir / ".hydra" / "hydra.yaml").read_text().replace(str(run.dir), "RUN_DIR")
    cli_hydra = (reference / ".hydra" / "hydra.yaml").read_text().replace(str(reference), "RUN_DIR")
    assert api_hydra == cli_hydra
    assert yaml.safe_load(api_hydra)["hydra"]["job"]["name"] == "train"


def test_calls_in_one_process_and_from_two_threads_give_the_cli_numbers(tmp_path, monkeypatch, reference):
    monkeypatch.chdir(reference.parent)
    first = wh.train(*JOB, "data.path=words.txt", run_dir=tmp_path / "first")
    second = wh.train(*JOB, "data.path=words.txt", run_dir=tmp_path / "second")
    results: dict[str, object] = {}

    def in_thread(name: str) -> None:
        try:
            results[name] = wh.train(*JOB, "data.path=words.txt", run_dir=tmp_path / name)
        except BaseException as err:  # noqa: BLE001 - handed to the test's thread
            results[name] = err

    threads = [threading.Thread(target=in_thread, args=(name,)) for name in ("thread-a", "thread-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    for run in (first, second, results["thread-a"], results["thread-b"]):
        assert isinstance(run, wh.Run), run
        assert_same_numbers(run.dir, reference)


def test_a_run_knows_its_config_curves_model_words_and_losses(tmp_path, monkeypatch, reference, cli):
    monkeypatch.chdir(reference.parent)
    run = wh.load_run(reference)
    assert run == wh.Run(reference) and run in wh.load_runs(reference.parent)
    assert run.config.n_hidden == 8 and run.config.log.samples == 2
    table = run.curves()  # a DataFrame where pandas is installed, else a list of dicts
    rows = table.to_dict("records") if hasattr(table, "to_dict") else table
    assert {row["tag"] for row in rows} >= {"loss/train", "loss/train_smooth", "loss/val", "loss/val_best", "opt/lr"}
    assert [r["value"] for r in rows if r["tag"] == "loss/val"][-1] == pytest.approx(run.val_loss)
    model = run.model
    assert not model.training and sum(p.numel() for p in model.parameters()) == read_metrics(reference)["params"]
    # the words and losses of wavenet-sample and wavenet-eval on the same run
    sampled = cli.in_process("wavenet-sample", [str(reference), "-n", "6", "--seed", "3", "--json"])
    assert run.sample(6, seed=3) == [s["word"] for s in json.loads(sampled.stdout)["samples"]]
    evaluated = cli.in_process("wavenet-eval", [str(reference), "--split", "test", "--json"])
    assert run.evaluate("test") == json.loads(evaluated.stdout)["runs"][0]["loss"]
    assert run.evaluate() == run.val_loss
    ax = run.plot()
    val_line = ax.get_lines()[-1]
    assert val_line.get_label() == "val"
    assert list(val_line.get_ydata()) == [r["value"] for r in rows if r["tag"] == "loss/val"]


def test_every_mistake_is_the_clis_one_line_as_a_user_error(tmp_path, monkeypatch, cli, reference):
    monkeypatch.chdir(tmp_path)
    words = write_tiny_words(tmp_path)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    taken = reference  # a folder that holds a finished run
    cases = {  # overrides -> the kind of UserError
        ("n_hiden=3",): wh.ConfigError,
        ("block_size=6",): wh.ConfigError,
        ("lr=-1",): wh.ConfigError,
        ("model=nope",): wh.ConfigError,
        ("log.progress=3",): wh.ConfigError,
        ("data.path=missing.txt",): wh.DataError,
        (f"data.path={words}", f"resume={garbage}"): wh.CheckpointError,
        (f"data.path={words}", f"hydra.run.dir={taken}"): wh.RunDirError,
    }
    lines = cli.batch([[*TINY_OVERRIDES, *overrides] for overrides in cases], tmp_path)
    for (overrides, kind), result in zip(cases.items(), lines, strict=True):
        with pytest.raises(kind) as raised:
            wh.train(*TINY_OVERRIDES, *overrides)
        assert result["rc"] == 2 and result["stderr"].strip() == f"wavenet-train: error: {raised.value}", overrides
    assert not (tmp_path / "runs").exists()  # a refused run leaves nothing behind
    with pytest.raises(
        wh.UsageError,
        match=r"hparams_search=hier_optuna is a search: run it with "
        r"wavenet_harness.sweep\('hparams_search=hier_optuna', \.\.\.\)",
    ):
        wh.train("hparams_search=hier_optuna")
    with pytest.raises(wh.ConfigError, match=r"n_hidden=8,16 is a sweep \(several values\)"):
        wh.train("n_hidden=8,16")
    with pytest.raises(wh.UsageError, match=r"n=0 is not allowed: give a whole number from 1"):
        wh.load_run(reference).sample(0)
    with pytest.raises(wh.UsageError, match=r"split='dev' is not allowed: choose one of train, val, test"):
        wh.load_run(reference).evaluate("dev")
    with pytest.raises(wh.RunDirError, match="holds no run"):
        wh.load_run(tmp_path)
    monkeypatch.setattr("wavenet_harness.api.views.has_extra", lambda extra: False)
    with pytest.raises(
        wh.ExtraMissing,
        match=r"plotting needs matplotlib, which is not installed; install it with: "
        r"pip install .*\[plots\]",
    ):
        wh.load_run(reference).plot()


def wait_for_checkpoint(run_dir: Path, alive, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not (run_dir / "checkpoint.pt").exists():
        assert alive(), "the run ended before its first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint in time"
        time.sleep(0.005)


STOPPED_BY_SIGINT = """
import json, sys
import wavenet_harness as wh
try:
    wh.train(*sys.argv[2:], run_dir=sys.argv[1])
    print(json.dumps({"ended": "finished"}))
except wh.Interrupted as stop:
    ended = {"ended": "interrupted", "status": stop.run.status, "steps": stop.run.steps, "message": str(stop)}
    print(json.dumps(ended))
"""


def test_ctrl_c_saves_and_the_next_train_resumes_bit_for_bit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_tiny_words(tmp_path)
    job = [*LONG, "data.path=words.txt"]
    script = tmp_path / "stopped.py"
    script.write_text(STOPPED_BY_SIGINT)
    child = subprocess.Popen(
        [sys.executable, str(script), "stopped", *job],
        cwd=tmp_path,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_checkpoint(tmp_path / "stopped", lambda: child.poll() is None)
    child.send_signal(signal.SIGINT)  # what interrupting a notebook's kernel sends
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err[-3000:]
    ended = json.loads(out.strip().splitlines()[-1])
    assert ended["ended"] == "interrupted" and ended["status"] == "interrupted" and ended["steps"] < 1500, ended
    assert ended["message"].startswith("interrupted at step ") and "wavenet_harness.train(" in ended["message"]
    assert ended["message"].endswith("run_dir='stopped', resume=True)")

    resumed = wh.train(*job, run_dir="stopped", resume=True)
    whole = wh.train(*job, run_dir="whole")
    assert resumed.status == "ok" and resumed.record.resumed_from_step == ended["steps"]
    _same_end(resumed.dir, whole.dir)


def _same_end(run_dir: Path, reference_dir: Path) -> None:
    """A resumed run ends where the whole one did: losses, weights, optimizer, random states."""
    mine, ref = read_metrics(run_dir), read_metrics(reference_dir)
    assert (mine["steps"], mine["train_loss"], mine["val_loss"]) == (ref["steps"], ref["train_loss"], ref["val_loss"])
    a, b = (torch.load(d / "checkpoint.pt", weights_only=True) for d in (run_dir, reference_dir))
    for part in ("model", "optimizer", "rng", "tracker"):
        assert_identical(a[part], b[part], part)


def test_a_run_in_another_thread_stops_on_stop_and_resumes_bit_for_bit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_tiny_words(tmp_path)
    job = [*LONG, "data.path=words.txt"]
    outcome: dict[str, BaseException] = {}

    def background() -> None:
        try:
            wh.train(*job, run_dir="stopped")
        except BaseException as err:  # noqa: BLE001 - handed to the test's thread
            outcome["raised"] = err

    thread = threading.Thread(target=background)
    thread.start()
    wait_for_checkpoint(tmp_path / "stopped", thread.is_alive)
    assert wh.stop() == 1  # SIGINT reaches only the main thread: stop() is how to reach this one
    thread.join(timeout=120)
    stop = outcome["raised"]
    assert isinstance(stop, wh.Interrupted) and stop.run.status == "interrupted" and stop.run.steps < 1500
    resumed = wh.train(*job, run_dir="stopped", resume=True)
    _same_end(resumed.dir, wh.train(*job, run_dir="whole").dir)
