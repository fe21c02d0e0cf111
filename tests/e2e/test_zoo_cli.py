"""model=wavenet, gru and transformer through the console scripts: train, resume bit for bit,
sample, evaluate, report side by side, and a two-trial Optuna search."""

from __future__ import annotations

import json
import math

import pytest
import torch

from helpers import REPO, assert_identical, read_metrics, write_tiny_words

MODELS = {  # each with dropout on, so resuming must restore the random state it draws from
    "wavenet": ["model=wavenet", "model.norm=layer", "model.dropout=0.1", "block_size=8"],
    "gru": ["model=gru", "model.dropout=0.1", "depth=2"],
    "transformer": ["model=transformer", "depth=2", "model.n_head=2", "model.dropout=0.1"],
}
STEPS, HALF = 40, 20
TINY = [
    "batch_size=8",
    "n_embd=8",
    "n_hidden=16",
    "eval_interval=20",
    "log.progress=false",
    "log.smooth_window=25",
    "threads=1",
]


def load(run_dir):
    return torch.load(run_dir / "checkpoint.pt", weights_only=True)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory, cli):
    """Per model, in one CLI process: a 40-step run; a 20-step run; that run resumed to 40."""
    root = tmp_path_factory.mktemp("zoo")
    words = write_tiny_words(root)
    common = [*TINY, f"data.path={words}", "optim=adamw", "schedule=constant", "lr=0.01", f"checkpoint_interval={HALF}"]
    calls = {}
    for name, options in MODELS.items():
        run = [*common, *options]
        calls[f"{name}/whole"] = [*run, f"max_steps={STEPS}", f"hydra.run.dir={root / name / 'whole'}"]
        calls[f"{name}/first half"] = [*run, f"max_steps={HALF}", f"hydra.run.dir={root / name / 'resumed'}"]
        calls[f"{name}/resumed"] = [
            *run,
            f"max_steps={STEPS}",
            f"hydra.run.dir={root / name / 'resumed'}",
            "resume=true",
        ]
    results = dict(zip(calls, cli.batch(list(calls.values()), root), strict=True))
    for call, result in results.items():
        assert result["rc"] == 0, f"{call}: {result['stderr'][-3000:]}"
    return root


@pytest.mark.parametrize("name", list(MODELS))
def test_trains_end_to_end_and_resumes_bit_for_bit(zoo, name):
    whole, resumed = zoo / name / "whole", zoo / name / "resumed"
    metrics = read_metrics(whole)
    assert metrics["status"] == "ok" and metrics["model"] == name and metrics["steps"] == STEPS
    assert metrics["train_loss"] < 3.3 and math.isfinite(metrics["val_loss"])  # it learned from the words
    again = read_metrics(resumed)
    assert again["resumed_from_step"] == HALF
    assert (again["train_loss"], again["val_loss"]) == (metrics["train_loss"], metrics["val_loss"])
    a, b = load(resumed), load(whole)
    assert a["step"] == b["step"] == STEPS
    for part in ("model", "optimizer", "rng"):
        assert_identical(a[part], b[part], part)


@pytest.mark.parametrize("name", list(MODELS))
def test_sample_and_eval_rebuild_the_trained_model(zoo, name, cli):
    run_dir = zoo / name / "whole"
    code, out, err = cli.in_process("wavenet-sample", [str(run_dir), "-n", "4", "--seed", "1", "--prefix", "e"])
    assert code == 0 and err == ""
    assert all(line.startswith("e") for line in out.splitlines()[:4])
    code, out, err = cli.in_process("wavenet-eval", [str(run_dir), "--split", "val", "--json"])
    assert code == 0 and err == ""
    assert json.loads(out)["runs"][0]["loss"] == pytest.approx(read_metrics(run_dir)["val_loss"], rel=1e-6)


def test_report_ranks_the_models_side_by_side(zoo, cli):
    code, out, err = cli.in_process("wavenet-report", [str(zoo), "--json", "-"])
    assert code == 0, err
    rows = json.loads(out)["jobs"]
    assert {row["model"] for row in rows} == set(MODELS)
    assert all(row["params"] > 0 for row in rows)
    assert [row["val_loss"] for row in rows] == sorted(row["val_loss"] for row in rows)


@pytest.mark.parametrize(
    "name",
    [
        "gru",
        pytest.param("wavenet", marks=pytest.mark.slow),
        pytest.param("transformer", marks=pytest.mark.slow),
    ],
)
def test_a_tiny_optuna_search_of_each_family(tmp_path, tiny_words_file, cli, name):
    # The family's search as shipped but for the data and its size: two trials of 20 steps.
    sweep_dir = tmp_path / name
    proc = cli(
        [
            "--multirun",
            f"hparams_search={name}_optuna",
            "batch_size=8",
            f"data.path={tiny_words_file}",
            "max_steps=20",
            "eval_interval=10",
            "schedule.warmup_steps=2",
            "hydra.sweeper.n_trials=2",
            "hydra.launcher.n_jobs=1",
            "hydra.sweeper.pruner.n_warmup_steps=0",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        REPO,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "sweep: 2 jobs: 2 ok" in proc.stdout, proc.stdout
    assert {read_metrics(sweep_dir / str(n))["model"] for n in range(2)} == {name}
