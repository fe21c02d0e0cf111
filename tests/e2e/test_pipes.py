"""A reader that closes the pipe early (`| head -1`) ends a console script quietly."""

from __future__ import annotations

import shlex
import subprocess

from helpers import TINY_OVERRIDES


def test_sample_and_eval_piped_into_head_end_quietly(tmp_path, tiny_words_file, cli):
    run_dir = tmp_path / "run"
    trained = cli([*TINY_OVERRIDES, f"data.path={tiny_words_file}", f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-2000:]
    for command in (
        ["wavenet-sample", str(run_dir), "-n", "20000", "--data", str(tiny_words_file)],
        ["wavenet-eval", str(run_dir), str(run_dir), "--json", "--data", str(tiny_words_file)],
    ):
        done = subprocess.run(
            ["bash", "-c", f"{shlex.join(command)} | head -c 1"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0 and len(done.stdout) == 1, done.stderr
        assert done.stderr == "", done.stderr
