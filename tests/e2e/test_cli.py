"""End to end: the real `wavenet-train` in a subprocess, as a user runs it."""

import pytest

from helpers import TINY_OVERRIDES, read_metrics

# The tiny settings without n_hidden, which these tests set themselves.
TINY_WITHOUT_N_HIDDEN = [o for o in TINY_OVERRIDES if not o.startswith("n_hidden=")]


def test_default_model_trains_a_few_hundred_steps_from_any_directory(tmp_path, names_path, cli):
    run_dir = tmp_path / "run"
    result = cli(
        [
            "max_steps=300",
            "eval_interval=100",
            "checkpoint_interval=0",
            "log.progress=false",
            f"data.path={names_path}",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    metrics = read_metrics(run_dir)
    assert metrics["status"] == "ok"
    assert metrics["steps"] == 300
    assert metrics["params"] == 76579
    assert 1.5 < metrics["val_loss"] < 3.3  # log(27) = 3.30 is a model that learned nothing
    assert metrics["train_loss"] is not None and metrics["seconds"] > 0
    assert (run_dir / ".hydra" / "config.yaml").is_file()
    assert (run_dir / "checkpoint.pt").is_file()
    assert list((run_dir / "tb").glob("events.out.tfevents.*"))
    assert "val loss" in result.stderr + result.stdout  # the end-of-run summary


def test_card_usage_model_hier_n_hidden_works_literally(tmp_path, tiny_words_file, cli):
    run_dir = tmp_path / "run"
    result = cli(
        [
            "model=hier",
            "n_hidden=16",
            *TINY_WITHOUT_N_HIDDEN,
            f"data.path={tiny_words_file}",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    config = (run_dir / ".hydra" / "config.yaml").read_text()
    assert "n_hidden: 16" in config and "name: hier" in config


def test_multirun_writes_one_run_directory_per_job(tmp_path, tiny_words_file, cli):
    sweep_dir = tmp_path / "sweep"
    result = cli(
        [
            "--multirun",
            "n_hidden=4,8",
            *TINY_WITHOUT_N_HIDDEN,
            f"data.path={tiny_words_file}",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    jobs = sorted(p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1"]
    params = []
    for job, n_hidden in zip(jobs, (4, 8), strict=True):
        metrics = read_metrics(job)
        assert metrics["status"] == "ok" and metrics["steps"] == 60
        params.append(metrics["params"])
        # each job's TensorBoard run is named by what the sweep varies
        assert list((job / "tb" / f"n_hidden={n_hidden}").glob("events.out.tfevents.*"))
    assert params[0] < params[1]  # n_hidden 4 vs 8
    assert f"tensorboard --logdir {sweep_dir}" in result.stdout  # the end screen points at the whole sweep


def test_bad_value_is_one_line_and_exit_code_2(tmp_path, tiny_words_file, cli):
    result = cli(["block_size=6", f"data.path={tiny_words_file}", "hydra.run.dir=" + str(tmp_path / "r")], cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "block_size=6" in result.stderr and "multiple of 4" in result.stderr


def test_help_names_the_program_every_option_and_every_declared_key(tmp_path, cli):
    from wavenet_harness.adapter.reference import option_keys, top_level_keys
    from wavenet_harness.adapter.schema import group_options

    result = cli(["--help"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("wavenet-train: train ") and "Hydra" not in lines[0]
    for group, options in group_options().items():
        listed = next(line for line in lines if line.startswith(f"  {group}="))
        assert set(listed.split("=", 1)[1].split(", ")) == set(options)
        for option in options:
            assert all(f"  {key.name}={key.default} " in result.stdout for key in option_keys(group, option))
    assert any(line.startswith("  experiment=fast") for line in lines)
    assert all(f"  {key.name}={key.default} " in result.stdout for key in top_level_keys())
    assert max(len(line) for line in lines) <= 100


ENTRIES = ["wavenet-train", "wavenet-sample", "wavenet-report", "wavenet-eval", "wavenet-study"]


@pytest.mark.parametrize("entry", ENTRIES)
def test_version_prints_the_projects_version(tmp_path, cli, entry):
    from wavenet_harness import __version__

    result = cli(["--version"], cwd=tmp_path, entry=entry)
    assert (result.returncode, result.stdout.strip()) == (0, f"{entry} {__version__}"), result.stderr
