"""From a search to a recipe through the real commands: a very short search, `wavenet-study
--export` at a step one of its trials passed, the preset trained on two seeds with
`wavenet-train --config-dir`, and `wavenet-report --by seed` over them."""

from __future__ import annotations

import json
import statistics

import optuna

from helpers import REPO, TINY_OVERRIDES, assert_one_error_line, read_metrics
from wavenet_harness.sweeps.study import open_storage


def test_a_trial_at_a_step_becomes_a_preset_that_ends_where_the_trial_stood(tmp_path, tiny_words_file, cli):
    # The constant schedule and averaged weights of the `_long` searches: a run of 40 steps
    # is the trial's first 40 steps, so the preset's run must end at the val it reported there.
    sweep_dir, presets = tmp_path / "search", tmp_path / "presets"
    search = cli(
        [
            "--multirun",
            "hydra/sweeper=wavenet_optuna",
            *TINY_OVERRIDES,
            f"data.path={tiny_words_file}",
            "schedule=constant",
            "optim=adamw",
            "ema_decay=0.9",
            f"hydra.sweep.dir={sweep_dir}",
            "hydra.sweeper.n_trials=2",
            "hydra.sweeper.sampler.name=random",
            "hydra.sweeper.sampler.seed=0",
            "+hydra.sweeper.params.lr={type:float,low:0.01,high:0.5}",
            "hydra.sweeper.pruner.name=none",
        ],
        REPO,
    )
    assert search.returncode == 0, search.stderr[-3000:]
    study = optuna.load_study(study_name="wavenet", storage=open_storage(str(sweep_dir / "optuna.journal")))
    best_at_40 = min(study.trials, key=lambda t: t.intermediate_values[40])

    export = ["wavenet-study", [sweep_dir, "--export", "at40", "--step", "40", "--config-dir", presets]]
    code, out, err = cli.in_process(*export)
    assert code == 0, err
    preset = presets / "experiment" / "at40.yaml"
    assert out.splitlines()[0] == (
        f"wrote {preset}: trial {best_at_40.number} at step 40 (val {best_at_40.intermediate_values[40]:.4f})"
    )
    text = preset.read_text()
    assert f"from the Optuna study 'wavenet',\n# stored in {sweep_dir / 'optuna.journal'}:" in text
    assert "max_steps: 40\n" in text and f"lr: {best_at_40.params['lr']!r}\n" in text
    code, _, err = cli.in_process(*export)  # never over a file
    assert_one_error_line(code, err, f"{preset} already exists", prog="wavenet-study")
    assert preset.read_text() == text

    runs = tmp_path / "seeds"
    trained = cli(
        [
            "--multirun",
            "--config-dir",
            presets,
            "experiment=at40",
            "seed=42,1",
            "log.progress=false",
            f"hydra.sweep.dir={runs}",
        ],
        REPO,
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    # seed 42 is the trial's own: bit for bit where the trial stood at step 40
    assert read_metrics(runs / "0")["val_loss"] == best_at_40.intermediate_values[40]

    code, out, err = cli.in_process("wavenet-report", [runs, "--by", "seed", "--json", "-"])
    assert code == 0, err
    (group,) = json.loads(out)["groups"]
    vals = [read_metrics(runs / job)["val_loss"] for job in ("0", "1")]
    assert (group["seed"], group["runs"], group["finished"]) == (["42", "1"], 2, 2)
    assert group["val_mean"] == statistics.fmean(vals) and group["val_sd"] == statistics.stdev(vals)
