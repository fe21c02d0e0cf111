"""Shared fixtures: tiny made-up words, the real names.txt, and a CLI runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # notebook_reference


def _names_path() -> Path | None:
    for candidate in (
        os.environ.get("WAVENET_NAMES"),
        REPO / "data" / "names.txt",
        REPO.parent / "shared" / "data" / "names.txt",
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def names_path() -> Path:
    path = _names_path()
    if path is None:
        pytest.skip("names.txt not found (put it in data/ or set WAVENET_NAMES)")
    return path


TINY_WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper", "evelyn", "abigail",
              "emily", "ella", "elizabeth", "camila", "luna", "sofia", "avery", "mila", "aria", "scarlett"]


def write_tiny_words(folder: Path) -> Path:
    """A made-up words file: small enough that a training step takes microseconds."""
    path = folder / "words.txt"
    path.write_text("\n".join(TINY_WORDS) + "\n")
    return path


@pytest.fixture
def tiny_words_file(tmp_path) -> Path:
    return write_tiny_words(tmp_path)


TINY_OVERRIDES = [
    "max_steps=60", "batch_size=8", "n_embd=4", "n_hidden=8", "eval_interval=20",
    "checkpoint_interval=0", "log.progress=false", "log.smooth_window=25", "threads=1",
]


def run_cli(args: list[str], cwd: Path, entry: str = "wavenet-train", timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a console script of this project in a subprocess, as a user would."""
    env = dict(os.environ, HYDRA_FULL_ERROR="0", PYTHONUNBUFFERED="1")
    return subprocess.run([entry, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def call_main(main, argv: list[str], capsys) -> tuple[int, str, str]:
    """A console script's main() in this process: (exit code, stdout, stderr)."""
    code = 0
    try:
        main(argv)
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def read_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())
