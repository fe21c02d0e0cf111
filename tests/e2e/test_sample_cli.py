"""wavenet-sample on a tiny trained run, through its main() (the subprocess run on a real
multirun job is in test_report.py)."""

from __future__ import annotations

import json

import pytest

from helpers import TINY_OVERRIDES, compose
from wavenet_harness.adapter.job import run_training
from wavenet_harness.base.data import read_words, split_words


def test_cli_on_a_trained_run(tmp_path, tiny_words_file, cli):
    cfg = compose(f"data.path={tiny_words_file}", *TINY_OVERRIDES, "log.samples=0")
    run_dir = tmp_path / "run"
    assert run_training(cfg, run_dir)["status"] == "ok"
    train_words = set(split_words(read_words(tiny_words_file), 42)[0])

    code, out, err = cli.in_process("wavenet-sample", [str(run_dir), "-n", "6", "--seed", "7"])
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 7
    marked = [(line.split()[0], line.endswith("  new")) for line in lines[:6]]
    assert all(new == (word not in train_words) for word, new in marked)
    n_new = sum(new for _, new in marked)
    assert lines[6].startswith(f"{n_new} of 6 new")

    code, out, _ = cli.in_process(
        "wavenet-sample", [str(run_dir / "checkpoint.pt"), "-n", "6", "--seed", "7", "--json"]
    )
    result = json.loads(out)
    assert code == 0 and [(s["word"], s["new"]) for s in result["samples"]] == marked
    assert result["fraction_new"] == pytest.approx(n_new / 6)

    code, out, _ = cli.in_process(
        "wavenet-sample", [str(run_dir), "-n", "3", "--prefix", "em", "--top-k", "2", "--json"]
    )
    assert code == 0 and all(s["word"].startswith("em") for s in json.loads(out)["samples"])

    bad_inputs = {
        "does not exist": [str(tmp_path / "nowhere")],
        "holds no checkpoint.pt": [str(tmp_path)],
        "--temperature": [str(run_dir), "--temperature", "-1"],
        "--prefix": [str(run_dir), "--prefix", "e.Q"],
        "--num": [str(run_dir), "-n", "0"],
        "invalid int value": [str(run_dir), "--top-k", "two"],
        "not shorter than --max-len 3": [str(run_dir), "--prefix", "emm", "--max-len", "3"],
        "cannot find the training words file": [str(run_dir), "--data", str(tmp_path / "missing.txt")],
    }
    for expected, argv in bad_inputs.items():
        code, out, err = cli.in_process("wavenet-sample", argv)
        assert code == 2 and out == "", argv
        assert len(err.strip().splitlines()) == 1 and expected in err and err.startswith("wavenet-sample: error:"), err

    (tmp_path / "broken.pt").write_bytes(b"not a checkpoint")
    code, _, err = cli.in_process("wavenet-sample", [str(tmp_path / "broken.pt")])
    # checkpoint.py words the reason; here it must be one line that names the file
    assert code == 2 and len(err.strip().splitlines()) == 1 and "broken.pt" in err
