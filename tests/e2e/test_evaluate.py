"""wavenet-eval: a trained run's loss on one split, rebuilt from its checkpoint."""

from __future__ import annotations

import json

import pytest

from helpers import TINY_OVERRIDES, compose, read_metrics
from wavenet_harness.adapter.job import run_training


@pytest.mark.parametrize(
    "model", [[], ["model=conv", "block_size=16", "depth=4", "model.dropout=0.2", "model.residual=true"]]
)
def test_val_split_gives_the_runs_own_val_loss(tmp_path, tiny_words_file, cli, model):
    cfg = compose(f"data.path={tiny_words_file}", *TINY_OVERRIDES, "log.samples=0", *model)
    run_dir = tmp_path / "run"
    assert run_training(cfg, run_dir)["status"] == "ok"

    code, out, err = cli.in_process("wavenet-eval", [str(run_dir), "--split", "val", "--json"])
    assert code == 0 and err == ""
    [val] = json.loads(out)["runs"]
    # the saved model rebuilt from its config must score what training measured at the end
    assert val["loss"] == pytest.approx(read_metrics(run_dir)["val_loss"], rel=1e-6)
    assert val["step"] == 60

    code, out, _ = cli.in_process("wavenet-eval", [str(run_dir), "--split", "test", "--json"])
    printed = json.loads(out)
    [test] = printed["runs"]
    assert printed["mean"] == test["loss"]
    assert code == 0 and test["split"] == "test" and test["loss"] != val["loss"]
    assert 0 < test["loss"] < 3.3 + 1.0


def test_console_script_on_two_runs_and_bad_input(tmp_path, tiny_words_file, cli):
    for name in ("a", "b"):
        proc = cli(
            [
                *TINY_OVERRIDES,
                f"data.path={tiny_words_file}",
                f"hydra.run.dir={tmp_path / name}",
                f"seed={len(name) + ord(name)}",
            ],
            tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
    proc = cli([str(tmp_path / "a"), str(tmp_path / "b"), "--split", "test"], tmp_path, entry="wavenet-eval")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 3 and "test loss" in lines[0] and lines[2].startswith("mean ")
    losses = [float(line.split("test loss ")[1].split()[0]) for line in lines[:2]]
    assert abs(float(lines[2].split()[1]) - sum(losses) / 2) < 2e-4  # the printed losses are rounded
    proc = cli.in_process("wavenet-eval", [str(tmp_path / "a"), str(tmp_path / "b"), "--split", "test", "--json"])
    printed = json.loads(proc.stdout)
    assert printed["mean"] == pytest.approx(sum(r["loss"] for r in printed["runs"]) / 2)
    assert abs(printed["mean"] - float(lines[2].split()[1])) < 1e-4

    # A run trained on other words was scored on another split: listed, never averaged in.
    other_words = tmp_path / "other.txt"
    other_words.write_text(tiny_words_file.read_text().replace("emma", "emmanuelle"))
    proc = cli([*TINY_OVERRIDES, f"data.path={other_words}", f"hydra.run.dir={tmp_path / 'c'}"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = cli.in_process("wavenet-eval", [str(tmp_path / "a"), str(tmp_path / "c"), "--split", "test"])
    assert proc.returncode == 0 and proc.stdout.splitlines()[-1].startswith(
        "no mean: the runs were scored on different data"
    ), proc.stdout
    printed = json.loads(cli.in_process("wavenet-eval", [str(tmp_path / "a"), str(tmp_path / "c"), "--json"]).stdout)
    assert printed["mean"] is None and "different data" in printed["no_mean"]

    for argv, expected in [
        ([str(tmp_path / "nowhere")], "does not exist"),
        ([str(tmp_path / "a"), "--split", "dev"], "invalid choice"),
        ([str(tmp_path / "a"), "--data", str(tmp_path / "missing.txt")], "cannot find the training words file"),
    ]:
        proc = cli(argv, tmp_path, entry="wavenet-eval")
        assert proc.returncode == 2 and proc.stdout == ""
        assert len(proc.stderr.strip().splitlines()) == 1 and expected in proc.stderr, proc.stderr
