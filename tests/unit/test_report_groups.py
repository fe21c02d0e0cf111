"""wavenet-report --by seed: runs alike but for the seed, as one row each, mean ± sd of val (and test)."""

from __future__ import annotations

import json

import pytest

from helpers import make_run, numbers
from wavenet_harness.tracking.report_groups import build_groups, groups_csv, mean_sd


@pytest.fixture
def seeds(tmp_path):
    """Two configurations on three seeds each, one of them with a diverged seed; a test loss on two runs."""
    common = ["max_steps=100", "data.path=words.txt", "hydra.sweep.subdir=x"]
    for job, (lr, seed, val) in enumerate(
        [(0.1, 1, 2.0), (0.1, 2, 2.2), (0.1, 3, 2.4), (0.05, 1, 1.9), (0.05, 2, 1.95), (0.05, 3, None)]
    ):
        metrics = numbers(val) if val is not None else numbers(status="diverged")
        if lr == 0.05 and val is not None:
            metrics["test_loss"] = val + 0.01
        make_run(tmp_path, str(job), [*common[:2], f"+optuna.trial={job}", f"lr={lr}", f"seed={seed}"], **metrics)
    return tmp_path


def test_groups_by_seed_with_mean_and_sample_sd(seeds):
    report = build_groups(seeds, "seed")
    assert report["override_keys"] == ["lr"]  # what tells the groups apart; optuna.* never does
    best, other = report["groups"]
    assert (best["overrides"]["lr"], best["seed"], best["runs"], best["finished"]) == ("0.05", ["1", "2", "3"], 3, 2)
    assert best["val_mean"] == pytest.approx(1.925) and best["val_sd"] == pytest.approx(0.0353553, abs=1e-6)
    assert best["test_mean"] == pytest.approx(1.935) and best["test_runs"] == 2
    assert other["val_mean"] == pytest.approx(2.2) and other["val_sd"] == pytest.approx(0.2)  # n - 1
    assert other["test_mean"] is None
    assert groups_csv(report).splitlines()[:2] == [
        "lr,seed,runs,finished,val_mean,val_sd,test_runs,test_mean,test_sd",
        f"0.05,1 2 3,3,2,{best['val_mean']},{best['val_sd']},2,{best['test_mean']},{best['test_sd']}",
    ]


def test_mean_sd_of_one_and_none():
    assert mean_sd([2.0]) == (2.0, None) and mean_sd([]) == (None, None)


def test_cli_prints_one_row_per_group(seeds, cli):
    code, out, err = cli.in_process("wavenet-report", [seeds, "--by", "seed"])
    assert code == 0, err
    rows = [line.split() for line in out.splitlines() if line.strip().startswith(("0.05", "0.1 "))]
    assert rows[0][:2] == ["0.05", "1,"] and "1.9250 ± 0.0354 (2)" in " ".join(rows[0])
    assert "2 ok / 3" in out and "1.9350 ± 0.0354 (2)" in out  # test loss shown where recorded
    code, out, _ = cli.in_process("wavenet-report", [seeds, "--by", "seed", "--json", "-"])
    assert code == 0 and [g["overrides"]["lr"] for g in json.loads(out)["groups"]] == ["0.05", "0.1"]
