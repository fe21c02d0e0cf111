"""Weight averaging (ema_decay) through the CLI: scored, saved, resumed bit for bit, used
by wavenet-eval and wavenet-sample.

A tiny hier job (batchnorm inside, so buffers are carried too) with ema_decay=0.9 runs
uninterrupted (the reference) and again stopped with SIGTERM at its first checkpoint,
then resumed: its final losses, weights, average and optimizer must equal the
reference's exactly. A run without averaging cannot be resumed with it (one line).
"""

from __future__ import annotations

import signal
import time

import pytest
import torch

from helpers import assert_identical, assert_one_error_line, read_metrics, write_tiny_words

MAX_STEPS = 160
JOB = [
    f"max_steps={MAX_STEPS}",
    "checkpoint_interval=40",
    "eval_interval=40",
    "batch_size=8",
    "n_embd=4",
    "n_hidden=8",
    "log.progress=false",
    "log.samples=0",
    "threads=1",
]


def load(run_dir):
    return torch.load(run_dir / "checkpoint.pt", weights_only=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, cli):
    root = tmp_path_factory.mktemp("averaging")
    job = [*JOB, f"data.path={write_tiny_words(root)}"]
    dirs = {name: root / name for name in ("reference", "stopped", "plain")}
    processes = {
        "reference": cli.start([*job, "ema_decay=0.9", f"hydra.run.dir={dirs['reference']}"], root),
        "stopped": cli.start([*job, "ema_decay=0.9", f"hydra.run.dir={dirs['stopped']}"], root),
        "plain": cli.start([*job, f"hydra.run.dir={dirs['plain']}"], root),
    }
    deadline = time.monotonic() + 240
    while not (dirs["stopped"] / "checkpoint.pt").exists():
        assert processes["stopped"].poll() is None, processes["stopped"].communicate()[1][-2000:]
        assert time.monotonic() < deadline, "no checkpoint in time"
        time.sleep(0.005)
    processes["stopped"].send_signal(signal.SIGTERM)
    done = {name: (p.wait(timeout=300), p.communicate()[1]) for name, p in processes.items()}
    for name in ("reference", "plain"):
        assert done[name][0] == 0, done[name][1][-3000:]
    stopped_at = load(dirs["stopped"])["step"]
    calls = {
        "resume": [*job, "ema_decay=0.9", f"hydra.run.dir={dirs['stopped']}", "resume=true"],
        "averaging a plain run": [*job, "ema_decay=0.9", f"resume={dirs['plain']}", f"hydra.run.dir={root / 'x'}"],
    }
    results = dict(zip(calls, cli.batch(list(calls.values()), root), strict=True))
    return dict(dirs=dirs, done=done, stopped_at=stopped_at, results=results)


def test_the_average_is_scored_and_saved_beside_the_raw_weights(runs):
    reference, plain = runs["dirs"]["reference"], runs["dirs"]["plain"]
    metrics, plain_metrics = read_metrics(reference), read_metrics(plain)
    assert metrics["scored_weights"] == "ema" and plain_metrics["scored_weights"] == "raw"
    # Averaging changes nothing of the training: its raw weights score what the plain run's do.
    assert metrics["val_loss_raw"] == plain_metrics["val_loss"]
    assert metrics["val_loss"] != plain_metrics["val_loss"]
    state, plain_state = load(reference), load(plain)
    assert "ema" not in plain_state and state["ema"].keys() == state["model"].keys()
    buffers = [k for k in state["model"] if "running_" in k]
    assert buffers and all(torch.equal(state["ema"][k], state["model"][k]) for k in buffers)  # copied, not averaged
    assert not all(torch.equal(state["ema"][k], state["model"][k]) for k in state["model"])
    assert_identical(state["model"], plain_state["model"], "model")


def test_a_resumed_run_with_averaging_ends_bit_for_bit_as_the_uninterrupted_one(runs):
    code, stderr = runs["done"]["stopped"]
    assert code != 0 and 0 < runs["stopped_at"] < MAX_STEPS, stderr[-2000:]
    result = runs["results"]["resume"]
    assert result["rc"] == 0, result["stderr"][-3000:]
    mine, ref = read_metrics(runs["dirs"]["stopped"]), read_metrics(runs["dirs"]["reference"])
    assert mine["resumed_from_step"] == runs["stopped_at"]
    for key in ("train_loss", "val_loss", "val_loss_raw", "scored_weights"):
        assert mine[key] == ref[key], key
    a, b = load(runs["dirs"]["stopped"]), load(runs["dirs"]["reference"])
    for part in ("model", "ema", "optimizer", "rng"):
        assert_identical(a[part], b[part], part)


def test_a_run_without_averaging_is_not_resumed_with_it(runs):
    result = runs["results"]["averaging a plain run"]
    assert_one_error_line(result["rc"], result["stderr"], "it was trained with ema_decay=0.0 (this run: 0.9)")


def test_eval_and_sample_use_the_average(runs, cli):
    reference = runs["dirs"]["reference"]
    code, out, err = cli.in_process("wavenet-eval", [reference, "--json"])
    assert code == 0, err
    import json

    scored = json.loads(out)["runs"][0]
    assert scored["weights"] == "ema" and scored["loss"] == pytest.approx(read_metrics(reference)["val_loss"], abs=1e-6)
    code, out, err = cli.in_process("wavenet-eval", [reference])
    assert code == 0 and "ema weights" in out, err
    code, out, err = cli.in_process("wavenet-sample", [reference, "-n", "3"])
    assert code == 0 and "of 3 new" in out, err
