"""A resume continues the same training: a changed training key is refused in one line,
max_steps may grow, and every start is kept in starts.json so that wavenet-report's rerun
command reproduces an extended run exactly (the same chain of starts, bit for bit).
"""

from __future__ import annotations

import json
import shlex

from helpers import TINY_OVERRIDES, assert_one_error_line, read_metrics


def test_a_resume_refuses_a_changed_training_key_and_an_extended_run_reruns_exactly(tmp_path, tiny_words_file, cli):
    run_dir = tmp_path / "run"
    # The default schedule decays at 75% of max_steps: extending a run changes its lr curve,
    # so only the same chain of starts gives the same numbers.
    job = [*TINY_OVERRIDES, "lr=0.05", f"data.path={tiny_words_file}", f"hydra.run.dir={run_dir}"]
    first = cli([*job, "max_steps=20"], cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    refused, forgot, extended = cli.batch(
        [
            [*job, "max_steps=40", "resume=true", "lr=0.2"],
            [
                *TINY_OVERRIDES,
                f"data.path={tiny_words_file}",
                f"hydra.run.dir={run_dir}",
                "max_steps=40",
                "resume=true",
            ],
            [*job, "max_steps=40", "resume=true"],
        ],
        tmp_path,
    )
    for result in (refused, forgot):  # lr=0.2 typed, or lr=0.05 left out: either changes the training
        assert_one_error_line(result["rc"], result["stderr"], "it was trained with lr=0.05 (this run: ")
    assert extended["rc"] == 0, extended["stderr"][-2000:]
    assert read_metrics(run_dir)["steps"] == 40

    starts = json.loads((run_dir / "starts.json").read_text())["starts"]
    assert [(s["from_step"], s["max_steps"]) for s in starts] == [(0, 20), (20, 40)]  # refused starts left no trace
    assert "lr=0.05" in starts[0]["overrides"] and "resume=true" in starts[1]["overrides"]

    report = cli([str(run_dir), "--json", "-"], cwd=tmp_path, entry="wavenet-report")
    command = json.loads(report.stdout)["best"]["command"]
    steps = command.split(" && ")
    assert len(steps) == 2 and "max_steps=20" in steps[0] and steps[1].endswith("resume=true"), command
    rerun_dir = tmp_path / "rerun"
    for step in steps:  # the report's chain, in a folder of the test's own
        args = [a.replace("runs/rerun", str(rerun_dir)) for a in shlex.split(step)[1:]]
        done = cli(args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
    original, again = read_metrics(run_dir), read_metrics(rerun_dir)
    assert again["steps"] == 40
    assert (again["val_loss"], again["train_loss"]) == (original["val_loss"], original["train_loss"])
