"""Sampling: generate() on a small model, and wavenet-sample on a tiny trained run (in-process;
the subprocess run on a real multirun job is in test_report.py)."""

from __future__ import annotations

import json
import random

import pytest
import torch
from test_tracking import compose_config
from conftest import TINY_OVERRIDES, call_main

from wavenet_harness.models import sampling as sample
from wavenet_harness.data import Vocabulary, read_words, split_words
from wavenet_harness.models.tree import build_model
from wavenet_harness.training.job import run_training

VOCAB = Vocabulary(tuple("abcdefghijklmnopqrstuvwxyz"))


@pytest.fixture
def model():
    torch.manual_seed(1)
    return build_model("hier", VOCAB.size, 8, 6, 16, 3)


def test_generate_words_from_the_vocabulary_within_max_len(model):
    words = sample.generate(model, VOCAB, 20, generator=torch.Generator().manual_seed(3), max_len=12)
    assert len(words) == 20
    assert all(1 <= len(w) <= 12 or w == "" for w in words)
    assert all(set(w) <= set(VOCAB.chars) for w in words)
    assert model.training  # the mode it was in is restored


def test_generate_is_reproducible_and_leaves_global_rng_alone(model):
    torch_state, python_state = torch.get_rng_state(), random.getstate()
    first = sample.generate(model, VOCAB, 8, generator=torch.Generator().manual_seed(5))
    again = sample.generate(model, VOCAB, 3, generator=torch.Generator().manual_seed(5))
    assert again == first[:3]  # one word at a time: the first k words do not depend on n
    assert torch.equal(torch.get_rng_state(), torch_state) and random.getstate() == python_state


def test_generate_prefix_top_k_and_temperature(model):
    words = sample.generate(model, VOCAB, 5, prefix="ka", generator=torch.Generator().manual_seed(0), max_len=10)
    assert all(w.startswith("ka") for w in words)
    greedy = sample.generate(model, VOCAB, 4, top_k=1, generator=torch.Generator().manual_seed(0), max_len=10)
    assert len(set(greedy)) == 1  # only the likeliest character: every draw is the same word
    assert sample.generate(model, VOCAB, 2, prefix="abc", max_len=3) == ["abc", "abc"]
    with pytest.raises(ValueError, match="temperature"):
        sample.generate(model, VOCAB, 1, temperature=0.0)
    with pytest.raises(ValueError, match="prefix"):
        sample.generate(model, VOCAB, 1, prefix="A")


def test_samples_markdown_marks_new_words():
    assert sample.samples_markdown(["emma", "zed"], {"emma"}) == "- emma\n- zed *(new)*"


def _run_cli(argv, capsys):
    return call_main(sample.main, argv, capsys)


def test_cli_on_a_trained_run(tmp_path, tiny_words_file, capsys):
    cfg = compose_config(f"data.path={tiny_words_file}", *TINY_OVERRIDES, "log.samples=0")
    run_dir = tmp_path / "run"
    assert run_training(cfg, run_dir)["status"] == "ok"
    train_words = set(split_words(read_words(tiny_words_file), 42)[0])

    code, out, err = _run_cli([str(run_dir), "-n", "6", "--seed", "7"], capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 7
    marked = [(line.split()[0], line.endswith("  new")) for line in lines[:6]]
    assert all(new == (word not in train_words) for word, new in marked)
    n_new = sum(new for _, new in marked)
    assert lines[6].startswith(f"{n_new} of 6 new")

    code, out, _ = _run_cli([str(run_dir / "checkpoint.pt"), "-n", "6", "--seed", "7", "--json"], capsys)
    result = json.loads(out)
    assert code == 0 and [(s["word"], s["new"]) for s in result["samples"]] == marked
    assert result["fraction_new"] == pytest.approx(n_new / 6)

    code, out, _ = _run_cli([str(run_dir), "-n", "3", "--prefix", "em", "--top-k", "2", "--json"], capsys)
    assert code == 0 and all(s["word"].startswith("em") for s in json.loads(out)["samples"])

    bad_inputs = {
        "does not exist": [str(tmp_path / "nowhere")],
        "holds no checkpoint.pt": [str(tmp_path)],
        "--temperature": [str(run_dir), "--temperature", "-1"],
        "--prefix": [str(run_dir), "--prefix", "e.Q"],
        "--num": [str(run_dir), "-n", "0"],
        "invalid int value": [str(run_dir), "--top-k", "two"],
        "cannot find the training words file": [str(run_dir), "--data", str(tmp_path / "missing.txt")],
    }
    for expected, argv in bad_inputs.items():
        code, out, err = _run_cli(argv, capsys)
        assert code == 2 and out == "", argv
        assert len(err.strip().splitlines()) == 1 and expected in err and err.startswith("wavenet-sample: error:"), err

    (tmp_path / "broken.pt").write_bytes(b"not a checkpoint")
    code, _, err = _run_cli([str(tmp_path / "broken.pt")], capsys)
    # checkpoint.py words the reason; here it must be one line that names the file
    assert code == 2 and len(err.strip().splitlines()) == 1 and "broken.pt" in err
