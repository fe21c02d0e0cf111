"""Sweeps that finish: threads per job, failures as results, the summary, launcher presets.

Unit tests on made-up job directories, then real `wavenet-train --multirun` sweeps on tiny
data: joblib in parallel with a failing and a diverging job, a sweep where every job fails,
the SLURM preset's composition and submitit's local executor.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from helpers import read_metrics
from wavenet_harness.base.metrics import pinned_url
from wavenet_harness.base.records import TRACEBACK_NAME
from wavenet_harness.sweeps import launch as sweep
from wavenet_harness.training.device import sweep_job_threads

JOBLIB = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"


@pytest.mark.parametrize(
    "threads, n_jobs, cores, expected",
    [
        (0, -1, 8, 1),  # one job per core: one thread each
        (0, 2, 8, 4),  # two jobs on eight cores: four threads each
        (0, 3, 8, 2),
        (0, 16, 2, 1),  # more jobs than cores: never below one thread
        (0, -2, 8, 1),  # joblib's "all cores but one": 7 jobs
        (3, 2, 8, 3),  # an explicit choice is kept
    ],
)
def test_joblib_jobs_share_the_cores(threads, n_jobs, cores, expected):
    assert sweep_job_threads(threads, {"_target_": JOBLIB, "n_jobs": n_jobs}, cores=cores) == expected


def test_threads_outside_joblib():
    assert sweep_job_threads(0, None, cores=8) == 0  # a single run: torch's default
    assert sweep_job_threads(0, {"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}, 8) == 0
    submitit = {"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher", "cpus_per_task": 4}
    assert sweep_job_threads(0, submitit, cores=64) == 4


def _job(sweep_dir: Path, name: str, metrics: dict | None, overrides: list[str]) -> None:
    run_dir = sweep_dir / name
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if metrics is not None:
        (run_dir / "metrics.json").write_text(json.dumps(metrics))


def test_summary_counts_and_best_job(tmp_path):
    _job(tmp_path, "0", {"status": "ok", "val_loss": 2.5}, ["max_steps=9", "lr=0.1"])
    _job(tmp_path, "1", {"status": "ok", "val_loss": 2.2}, ["max_steps=9", "lr=0.2"])
    _job(
        tmp_path, "2", {"status": "diverged", "val_loss": None, "error": "loss became NaN"}, ["max_steps=9", "lr=1e30"]
    )
    _job(tmp_path, "3", {"status": "pruned", "val_loss": None}, ["max_steps=9", "lr=1e-6"])
    _job(tmp_path, "10", None, ["max_steps=9", "lr=5"])  # killed before it wrote anything
    (tmp_path / "not_a_job").mkdir()
    jobs = sweep.collect_jobs(tmp_path)
    assert [job.run_dir.name for job in jobs] == ["0", "1", "2", "3", "10"]
    text = sweep.format_summary(jobs, tmp_path)
    assert "5 jobs: 2 ok, 0 failed, 1 diverged, 1 pruned, 1 missing" in text
    assert f"best val loss: 2.2000  {tmp_path / '1'}  lr=0.2" in text  # shared overrides left out
    assert "diverged  2: loss became NaN" in text
    assert not sweep.every_job_failed(jobs)
    assert f"  tensorboard --logdir {tmp_path}" in text and f"  wavenet-report {tmp_path}" in text


def test_a_search_ends_naming_its_three_views_ready_to_paste(tmp_path):
    _job(tmp_path, "0", {"status": "ok", "val_loss": 2.5}, ["lr=0.1"])
    folder = tmp_path / "my search"
    lines = sweep.format_summary(sweep.collect_jobs(tmp_path), folder, str(folder / "optuna.journal")).splitlines()
    views = lines[lines.index("look at it:") + 1 :]
    assert [line.split("  #")[0].strip() for line in views if not line.startswith("  #")] == [
        f"tensorboard --logdir '{folder}'",
        f"optuna-dashboard '{folder}/optuna.journal'",
        f"wavenet-study '{folder}'",
    ]
    after_tensorboard = views[next(i for i, line in enumerate(views) if line.startswith("  tensorboard")) + 1]
    assert after_tensorboard == f"  # open {pinned_url()}"  # its address with the val loss pinned, in 100 columns
    database = sweep.format_summary([], folder, "postgresql://me@db:5432/x")
    assert "optuna-dashboard postgresql://me@db:5432/x" in database
    assert "wavenet-study --storage postgresql://me@db:5432/x" in database


def test_every_job_failed_only_when_nothing_ran_to_a_result(tmp_path):
    _job(tmp_path, "0", {"status": "failed", "error": "lr=-1 is not allowed"}, ["lr=-1"])
    _job(tmp_path, "1", None, ["lr=-2"])
    assert sweep.every_job_failed(sweep.collect_jobs(tmp_path))
    _job(tmp_path, "2", {"status": "diverged"}, ["lr=1e30"])
    assert not sweep.every_job_failed(sweep.collect_jobs(tmp_path))
    assert not sweep.every_job_failed([])


def test_record_failure_keeps_what_the_run_wrote(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"status": "running", "params": 785, "steps": 40}))
    try:
        raise RuntimeError("disk full")
    except RuntimeError as err:
        sweep.record_failure(tmp_path, err, user_error=False)
    metrics = read_metrics(tmp_path)
    assert (metrics["status"], metrics["params"], metrics["error"]) == ("failed", 785, "RuntimeError: disk full")
    assert "disk full" in (tmp_path / TRACEBACK_NAME).read_text()


def test_launcher_presets_and_search_space_compose():
    from wavenet_harness.adapter.config import compose_config

    slurm = compose_config(["hydra/launcher=slurm", "hparams_search=hier_optuna"], hydra_config=True)
    parallel = compose_config(["hydra/launcher=parallel"], hydra_config=True)
    assert slurm.hydra.launcher._target_.endswith("wavenet_slurm_launcher._launcher.RequeueingSlurmLauncher")
    assert slurm.hydra.launcher.cpus_per_task == 4
    assert slurm.hydra.sweeper._target_.endswith("WavenetOptunaSweeper")
    assert {"n_embd", "n_hidden", "block_size", "depth", "lr", "batch_size", "optim", "schedule"} <= set(
        slurm.hydra.sweeper.params
    )
    assert slurm.max_steps == 20000 and slurm.hydra.sweeper.pruner.name == "median"
    assert parallel.hydra.launcher._target_ == JOBLIB and parallel.hydra.launcher.n_jobs == -1


def test_conv_search_space_corners_are_valid_runs():
    # The search behind experiment=tuned: extremes of its space must pass the config
    # checks and build, so no trial of a rerun fails for a reason the space could avoid.
    import itertools

    from optuna.distributions import CategoricalDistribution

    from hydra_plugins.wavenet_optuna_sweeper._space import build_distributions
    from wavenet_harness.adapter.config import compose_config, validate
    from wavenet_harness.models import build_run_model

    search = compose_config(["hparams_search=conv_optuna"], hydra_config=True)
    assert search.hydra.launcher._target_ == JOBLIB and search.model.name == "conv" and search.threads == 1
    space = build_distributions(OmegaConf.to_container(search.hydra.sweeper.params))
    assert {"model.dropout", "model.residual", "optim.weight_decay", "n_hidden", "lr"} <= set(space)
    corners = {k: (d.choices if isinstance(d, CategoricalDistribution) else (d.low, d.high)) for k, d in space.items()}
    for n, values in enumerate(itertools.product(*corners.values())):
        if n % 7:  # a spread-out seventh of the 2**7 * 2 corners keeps this fast
            continue
        overrides = [
            f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in zip(corners, values, strict=True)
        ]
        cfg = compose_config(["hparams_search=conv_optuna", *overrides])
        config = validate(cfg)
        build_run_model(config, vocab_size=27)


@pytest.mark.parametrize("model", ["wavenet", "gru", "transformer"])
def test_model_search_spaces_share_conv_optunas_budget_and_keep_params_in_bounds(model):
    # One budget for every family: the same trials, steps, pruner, recipe, block and batch as
    # conv_optuna; every corner of each space validates and builds with 100k-400k parameters.
    import itertools

    from optuna.distributions import CategoricalDistribution

    from hydra_plugins.wavenet_optuna_sweeper._space import build_distributions
    from wavenet_harness.adapter.config import compose_config, validate
    from wavenet_harness.models import build_run_model, num_params

    conv = compose_config(["hparams_search=conv_optuna"], hydra_config=True)
    search = compose_config([f"hparams_search={model}_optuna"], hydra_config=True)
    assert search.model.name == model
    for key in ("block_size", "batch_size", "max_steps", "eval_interval", "threads", "optim", "schedule"):
        assert search[key] == conv[key], key
    budget = ("n_trials", "n_jobs", "direction", "sampler", "pruner")
    assert {k: search.hydra.sweeper[k] for k in budget} == {k: conv.hydra.sweeper[k] for k in budget}
    assert search.hydra.launcher == conv.hydra.launcher
    space = build_distributions(OmegaConf.to_container(search.hydra.sweeper.params))
    conv_space = build_distributions(OmegaConf.to_container(conv.hydra.sweeper.params))
    assert space["lr"] == conv_space["lr"] and space["optim.weight_decay"] == conv_space["optim.weight_decay"]
    assert {"n_embd", "n_hidden", "model.dropout"} <= set(space)
    corners = {k: (d.choices if isinstance(d, CategoricalDistribution) else (d.low, d.high)) for k, d in space.items()}
    # Every corner of the keys that shape the model; the others at their low end, and once all high.
    not_shape = ("lr", "optim.weight_decay", "model.dropout")
    shape_corners = [[(k, v) for v in corners[k]] for k in corners if k not in not_shape]
    all_high = [[(k, corners[k][-1])] for k in corners]
    counts = []
    for chosen in [*itertools.product(*shape_corners), itertools.chain(*all_high)]:
        chosen = dict(chosen)
        values = {k: chosen.get(k, corners[k][0]) for k in corners}
        overrides = [f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in values.items()]
        cfg = compose_config([f"hparams_search={model}_optuna", *overrides])
        config = validate(cfg)
        counts.append(num_params(build_run_model(config, vocab_size=27)))
    assert min(counts) >= 85_000 and max(counts) <= 400_000, (min(counts), max(counts))


def test_a_shortened_preset_scales_its_warmup_and_an_explicit_one_is_kept():
    from wavenet_harness.training.schedules import CosineOptions, fit_warmup

    preset = CosineOptions(warmup_steps=200)
    fitted, note = fit_warmup(preset, 300, explicit=False)
    assert "scaled to 30" in note and fitted.warmup_steps == 30 and preset.warmup_steps == 200
    assert fit_warmup(preset, 300, explicit=True) == (preset, None)
    assert fit_warmup(preset, 36000, explicit=False) == (preset, None)


@pytest.mark.parametrize("model", ["gru", "transformer"])
def test_long_searches_keep_their_familys_space_and_search_at_full_length(model):
    # <family>_long: the family's search space plus ema_decay, at the recipe's 36,000 steps,
    # constant lr after a warmup (a step's lr does not depend on max_steps), Hyperband on
    # every evaluation, two trials at a time on one thread each.
    from optuna.distributions import CategoricalDistribution

    from hydra_plugins.wavenet_optuna_sweeper._space import build_distributions
    from wavenet_harness.adapter.config import compose_config, validate
    from wavenet_harness.models import build_run_model, num_params
    from wavenet_harness.sweeps.study import build_pruner

    short = compose_config([f"hparams_search={model}_optuna"], hydra_config=True)
    search = compose_config([f"hparams_search={model}_long"], hydra_config=True)
    assert search.max_steps == 36000 and search.eval_interval == 1000 and search.threads == 1
    assert search.schedule.name == "constant" and search.schedule.warmup_steps > 0 and search.ema_decay > 0
    assert search.hydra.launcher == short.hydra.launcher and search.hydra.sweeper.n_jobs == 2
    pruner = OmegaConf.to_container(search.hydra.sweeper.pruner, resolve=True)
    assert pruner["name"] == "hyperband"
    assert (pruner["min_resource"], pruner["max_resource"]) == (search.eval_interval, search.max_steps)
    hyperband = build_pruner(pruner)
    assert hyperband._max_resource == 36000
    space = build_distributions(OmegaConf.to_container(search.hydra.sweeper.params))
    short_space = build_distributions(OmegaConf.to_container(short.hydra.sweeper.params))
    assert {k: v for k, v in space.items() if k != "ema_decay"} == short_space
    assert 0.0 in space["ema_decay"].choices and all(0 <= d < 1 for d in space["ema_decay"].choices)
    corners = {k: (d.choices if isinstance(d, CategoricalDistribution) else (d.low, d.high)) for k, d in space.items()}
    for values in ({k: v[0] for k, v in corners.items()}, {k: v[-1] for k, v in corners.items()}):
        cfg = compose_config([f"hparams_search={model}_long", *(f"{k}={v}" for k, v in values.items())])
        config = validate(cfg)
        assert 85_000 <= num_params(build_run_model(config, vocab_size=27)) <= 400_000


def test_constant_schedule_warms_up_and_then_does_not_depend_on_max_steps():
    from wavenet_harness.training.schedules import build_schedule

    plain = build_schedule("constant", 0.01, 100)
    assert [plain(s) for s in (0, 50, 99)] == [0.01, 0.01, 0.01]  # warmup 0: the lr itself, as before
    short, long = (
        build_schedule("constant", 0.01, 100, warmup_steps=4),
        build_schedule("constant", 0.01, 36000, warmup_steps=4),
    )
    assert [short(s) for s in range(6)] == [0.0025, 0.005, 0.0075, 0.01, 0.01, 0.01]
    assert all(short(s) == long(s) for s in range(100))


def test_wsd_schedule_is_the_constant_run_then_a_linear_cool_down():
    from wavenet_harness.training.schedules import build_schedule

    constant = build_schedule("constant", 0.01, 1000, warmup_steps=4)
    wsd = build_schedule("wsd", 0.01, 1000, warmup_steps=4, decay_share=0.2)
    assert all(wsd(s) == constant(s) for s in range(800))  # the search's run, step for step
    assert wsd(800) == pytest.approx(0.01) and wsd(900) == pytest.approx(0.005) and wsd(999) == pytest.approx(0.00005)
    floor = build_schedule("wsd", 0.01, 1000, decay_share=0.5, min_lr_ratio=0.1)
    assert floor(500) == pytest.approx(0.01) and floor(999) == pytest.approx(0.001 + 0.009 / 500)


def test_wsd_schedule_rules_are_one_line_each():
    from wavenet_harness.adapter.config import load_run_config
    from wavenet_harness.base.errors import ConfigError

    for overrides, message in (
        (["schedule.decay_share=0"], r"decay_share=0(\.0)? is not allowed"),
        (["schedule.decay_share=1.5"], "decay_share=1.5 is not allowed"),
        (["max_steps=100", "schedule.warmup_steps=90", "schedule.decay_share=0.2"], "more than max_steps"),
    ):
        with pytest.raises(ConfigError, match=message):
            load_run_config(["schedule=wsd", *overrides])
    load_run_config(["schedule=wsd", "schedule.warmup_steps=100"])


def _closing_screen(folder: Path, storage: str | None) -> list[str]:
    long_values = ["lr=0.0016994284286800002", "optim.weight_decay=0.021234567891234", "model.dropout=0.123456789012"]
    _job(folder, "0", {"status": "ok", "val_loss": 2.5}, ["n_hidden=96", *long_values])
    _job(folder, "1", {"status": "ok", "val_loss": 2.2}, ["n_hidden=127", *(v + "1" for v in long_values)])
    _job(folder, "2", {"status": "failed", "error": "a long error " * 20}, ["n_hidden=158", *long_values])
    return sweep.format_summary(sweep.collect_jobs(folder), folder, storage).splitlines()


@pytest.mark.parametrize("search", [False, True])
def test_the_closing_screen_fits_100_columns_with_every_command_whole(tmp_path, monkeypatch, search):
    monkeypatch.chdir(tmp_path)  # a sweep's folder as the sweep names it: relative to where it runs
    folder = Path("runs") / "multirun" / "2026-12-07" / "10-00-00-abc123"
    lines = _closing_screen(folder, str(folder / "optuna.journal") if search else None)
    assert max(len(line) for line in lines) <= 100, "\n".join(lines)
    best = " ".join(lines[next(i for i, line in enumerate(lines) if line.startswith("best val loss")) :][:3])
    assert "optim.weight_decay=0.0212345678912341" in best  # wrapped between values, never inside one
    commands = [
        line.split("  #")[0].strip() for line in lines[lines.index("look at it:") + 1 :] if not line.startswith("  #")
    ]
    assert commands[0] == f"tensorboard --logdir {folder}" and len(commands) == (3 if search else 2)


def test_optuna_dashboard_without_its_extra_says_how_to_install_it(tmp_path, monkeypatch):
    from wavenet_harness.base import extras

    monkeypatch.setattr(extras, "installed", lambda module: module != "optuna_dashboard")
    (line,) = [line for line in sweep.look_commands(tmp_path, "runs/x/optuna.journal") if "history, pruning" in line]
    assert "[dashboard]" in line and "pip install" in line
    monkeypatch.undo()
    (line,) = [line for line in sweep.look_commands(tmp_path, "runs/x/optuna.journal") if "history, pruning" in line]
    assert "pip install" not in line  # installed: nothing to add
