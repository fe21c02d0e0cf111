"""wavenet-sample, wavenet-eval and wavenet-report on runs that are odd or damaged.

One tiny run is trained in this process, then copied and damaged in the ways a disk, an
editor or a careless user can; each tool must answer in one line with exit code 2 (or
work), never with a traceback, and never change the run it reads.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch

from helpers import TINY_OVERRIDES, TINY_WORDS
from wavenet_harness.adapter.config import compose_config
from wavenet_harness.adapter.job import run_training


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("damaged")
    words = root / "words.txt"
    words.write_text("\n".join(TINY_WORDS) + "\n")
    cfg = compose_config([*TINY_OVERRIDES, f"data.path={words}", "log.samples=0"])
    run_dir = root / "run"
    assert run_training(cfg, run_dir)["status"] == "ok"
    return run_dir


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def _one_line(code: int, err: str, prog: str, expected: str) -> None:
    assert code == 2 and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1 and err.startswith(f"{prog}: error: ") and expected in err, err


def _damaged_copy(trained: Path, tmp_path: Path, change) -> Path:
    run_dir = tmp_path / "copy"
    shutil.copytree(trained, run_dir)
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    change(state)
    torch.save(state, run_dir / "checkpoint.pt")
    return run_dir


DAMAGE = {
    "config without data": (lambda s: s["config"].pop("data"), "its config has no data section"),
    "vocabulary not characters": (lambda s: s.update(vocab=[1, 2]), "its vocabulary is not a list of characters"),
    "no weights": (lambda s: s.update(model=None), "it holds no model weights"),
    "weights of another shape": (lambda s: s["config"].update(n_hidden=64), "does not hold a usable model"),
    "block_size missing": (lambda s: s["config"].pop("block_size"), "its config lacks a block_size"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
@pytest.mark.parametrize("tool", ["sample", "eval"])
def test_a_damaged_checkpoint_is_one_line(trained, tmp_path, cli, case, tool):
    change, expected = DAMAGE[case]
    run_dir = _damaged_copy(trained, tmp_path, change)
    prog = "wavenet-sample" if tool == "sample" else "wavenet-eval"
    code, _, err = cli.in_process(prog, [str(run_dir)])
    _one_line(code, err, prog, expected)


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--seed", str(2**70)], "--seed 1180591620717411303424 is not allowed"),
        (["-n", str(10**12)], "--num 1000000000000 is not allowed"),
        (["--top-k", str(2**70)], "--top-k 1180591620717411303424 is not allowed"),
        (["--max-len", str(2**70)], "--max-len 1180591620717411303424 is not allowed"),
    ],
)
def test_sampling_values_at_the_ends_of_their_types_are_one_line(trained, cli, argv, expected):
    code, _, err = cli.in_process("wavenet-sample", [str(trained), *argv])
    _one_line(code, err, "wavenet-sample", expected)


def test_a_tiny_temperature_samples_the_likeliest_characters(trained, cli):
    before = _digests(trained)
    code, out, err = cli.in_process("wavenet-sample", [str(trained), "--temperature", "1e-300", "-n", "3", "--json"])
    assert code == 0, err
    words = [s["word"] for s in json.loads(out)["samples"]]
    assert len(set(words)) == 1  # greedy: the same word every time
    assert _digests(trained) == before


def test_eval_on_another_words_file_with_the_same_alphabet_is_refused(trained, tmp_path, cli):
    other = tmp_path / "other.txt"
    other.write_text("\n".join(TINY_WORDS[::-1] + ["emma"]) + "\n")  # same characters, other words
    code, _, err = cli.in_process("wavenet-eval", [str(trained), "--data", str(other)])
    _one_line(code, err, "wavenet-eval", "is not the file this model was trained on (same characters, other words")


def _nan_weights(state: dict) -> None:
    name = next(k for k, v in state["model"].items() if v.is_floating_point())
    state["model"][name].fill_(float("nan"))


def test_eval_json_of_a_model_with_nan_weights_is_valid_json_with_a_status(trained, tmp_path, cli):
    run_dir = _damaged_copy(trained, tmp_path, _nan_weights)
    code, out, err = cli.in_process("wavenet-eval", [str(run_dir), "--json"])
    assert code == 0, err
    printed = json.loads(out, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
    [result] = printed["runs"]
    assert result["loss"] is None and result["status"] == "non_finite" and printed["mean"] is None
    code, _, err = cli.in_process("wavenet-sample", [str(run_dir)])
    _one_line(code, err, "wavenet-sample", "the model's outputs are not finite numbers")


def test_report_over_runs_with_markup_and_damaged_files(trained, tmp_path, cli):
    root = tmp_path / "runs"
    shutil.copytree(trained, root / "[bold]odd[/bold]")
    (root / "[bold]odd[/bold]" / ".hydra").mkdir()
    (root / "[bold]odd[/bold]" / ".hydra" / "overrides.yaml").write_text("- lr=[red]0.1\n")
    broken = root / "broken"
    (broken / ".hydra").mkdir(parents=True)
    (broken / ".hydra" / "overrides.yaml").write_text("{{{ not yaml")
    (broken / "metrics.json").write_text(json.dumps({"status": ["x"], "steps": "many", "val_loss": "low"}))
    (root / "truncated").mkdir()
    (root / "truncated" / "metrics.json").write_text('{"status": "ok", "val_lo')
    before = _digests(root)
    code, out, err = cli.in_process("wavenet-report", [str(root)])
    assert code == 0 and "Traceback" not in err, err
    assert "[bold]odd[/bold]" in out and "unreadable" in out
    code, out, err = cli.in_process("wavenet-report", [str(root), "--json", "-"])
    assert code == 0 and json.loads(out)["best"]["job"] == "[bold]odd[/bold]"
    assert _digests(root) == before


def test_study_storage_that_cannot_be_opened_is_one_line_without_its_password(cli):
    code, _, err = cli.in_process("wavenet-study", ["--storage", "postgresql://me:Pw-s3cret@127.0.0.1:1/x"])
    _one_line(code, err, "wavenet-study", "cannot open the study storage postgresql://me:***@127.0.0.1:1/x")
    assert "Pw-s3cret" not in err
