"""A run directory belongs to one run: unique default names, claims, refusals that write nothing.

Unit tests of wavenet_harness/tracking/rundir.py on made-up folders, then the CLI: runs started at
once into default directories (all distinct, each with its own config and checkpoint),
runs started at once into one named directory (one wins, the others are refused and the
winner's files are its own), and a refused run that leaves no folder behind.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
import torch
import yaml
from omegaconf import OmegaConf

from helpers import REPO, TINY_OVERRIDES, read_metrics
from wavenet_harness.adapter.callbacks import (
    TOKEN_BYTES,
    missing_ancestors,
    register_unique_resolver,
    remove_if_empty,
    save_hydra_files,
)
from wavenet_harness.adapter.config import compose_config
from wavenet_harness.base.errors import RunDirTaken
from wavenet_harness.base.records import read_overrides
from wavenet_harness.tracking import rundir
from wavenet_harness.tracking.hparams_file import HPARAMS_FILE


def digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_fresh_folder_is_free_and_a_folder_with_any_run_file_is_not(tmp_path):
    rundir.check_free(tmp_path / "new", resume=False)
    rundir.check_free(tmp_path, resume=False)  # exists, but empty
    for marker in rundir.RUN_MARKERS:
        run_dir = tmp_path / marker.replace(".", "_")
        run_dir.mkdir()
        (run_dir / marker).mkdir() if marker in ("tb", ".hydra") else (run_dir / marker).write_text("{}")
        with pytest.raises(RunDirTaken, match=f"already holds a run \\({marker}\\); continue it with resume=true"):
            rundir.check_free(run_dir, resume=False)
        rundir.check_free(run_dir, resume=True)
        rundir.check_free(run_dir, resume=str(run_dir))
        rundir.check_free(run_dir, resume=str(run_dir / "checkpoint.pt"))
        with pytest.raises(RunDirTaken):
            rundir.check_free(run_dir, resume=str(tmp_path / "elsewhere"))


def test_a_claim_is_exclusive_and_a_resume_keeps_the_claim(tmp_path):
    run_dir = tmp_path / "a" / "b"
    rundir.claim(run_dir, resume=False)
    assert (run_dir / "metrics.json").exists()
    with pytest.raises(RunDirTaken, match="taken by another run started at the same time"):
        rundir.claim(run_dir, resume=False)
    rundir.claim(run_dir, resume=True)


def test_a_folder_that_cannot_be_made_is_a_run_dir_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunDirTaken, match="cannot create the run directory"):
        rundir.claim(tmp_path / "file" / "run", resume=False)
    with pytest.raises(RunDirTaken, match="is a file, not a folder"):
        rundir.check_free(tmp_path / "file", resume=False)


def test_only_the_folders_a_run_made_are_removed_and_only_while_empty(tmp_path):
    (tmp_path / "runs").mkdir()
    run_dir = tmp_path / "runs" / "day" / "time"
    created = missing_ancestors(run_dir)
    assert created == [run_dir, run_dir.parent]
    run_dir.mkdir(parents=True)
    remove_if_empty(created)
    assert not (tmp_path / "runs" / "day").exists() and (tmp_path / "runs").is_dir()
    run_dir.mkdir(parents=True)
    (run_dir / "keep").write_text("mine")
    remove_if_empty(created)
    assert (run_dir / "keep").read_text() == "mine"


def test_unique_token_is_stable_within_a_config_and_differs_between_configs():
    register_unique_resolver()
    a = OmegaConf.create({"dir": "runs/x-${wavenet_unique:}"})
    b = OmegaConf.create({"dir": "runs/x-${wavenet_unique:}"})
    assert a.dir == a.dir and a.dir != b.dir and len(a.dir) == len("runs/x-") + 2 * TOKEN_BYTES


def test_saved_hydra_files_read_back_as_hydra_wrote_them(tmp_path):
    save_hydra_files(
        tmp_path, {"seed": 3, "model": {"name": "hier"}}, {"hydra": {"run": {"dir": "x"}}}, ["seed=3", "model=hier"]
    )
    assert read_overrides(tmp_path) == ["seed=3", "model=hier"]
    assert yaml.safe_load((tmp_path / ".hydra" / "config.yaml").read_text()) == {"seed": 3, "model": {"name": "hier"}}
    assert yaml.safe_load((tmp_path / ".hydra" / "hydra.yaml").read_text())["hydra"]["run"]["dir"] == "x"
    assert sorted(p.name for p in (tmp_path / ".hydra").iterdir()) == ["config.yaml", "hydra.yaml", "overrides.yaml"]


def test_runs_started_at_once_never_share_a_directory(tmp_path, tiny_words_file, cli):
    """Three runs into default directories and three into one named directory, all at once."""
    job = [*TINY_OVERRIDES, f"data.path={tiny_words_file}"]
    shared = tmp_path / "shared"
    processes = {
        f"default-{seed}": cli.start([*job, f"seed={seed}", f"n_hidden={8 * seed}"], tmp_path) for seed in (1, 2, 3)
    }
    processes |= {
        f"shared-{seed}": cli.start([*job, f"seed={seed}", f"hydra.run.dir={shared}"], tmp_path) for seed in (4, 5, 6)
    }
    done = {name: (p.wait(timeout=300), p.stderr.read()) for name, p in processes.items()}

    default_dirs = sorted(p.parent for p in (tmp_path / "runs").glob("*/*/metrics.json"))
    assert len(default_dirs) == 3, done
    for run_dir in default_dirs:  # each directory's files come from one run
        seed = yaml.safe_load((run_dir / ".hydra" / "config.yaml").read_text())["seed"]
        checkpoint = torch.load(run_dir / "checkpoint.pt", weights_only=True)
        assert checkpoint["config"]["seed"] == seed and checkpoint["config"]["n_hidden"] == 8 * seed
        assert f"seed={seed}" in (run_dir / ".hydra" / "overrides.yaml").read_text()
        assert read_metrics(run_dir)["status"] == "ok"
        assert _event_files(run_dir) == 1
    assert all(done[f"default-{seed}"][0] == 0 for seed in (1, 2, 3)), done

    winners = [name for name in ("shared-4", "shared-5", "shared-6") if done[name][0] == 0]
    assert len(winners) == 1, done
    for name in ("shared-4", "shared-5", "shared-6"):
        if name not in winners:
            assert done[name][0] == 2 and len(done[name][1].strip().splitlines()) == 1, done[name]
            assert "wavenet-train: error:" in done[name][1] and "Traceback" not in done[name][1]
    seed = int(winners[0].split("-")[1])
    assert yaml.safe_load((shared / ".hydra" / "config.yaml").read_text())["seed"] == seed
    assert torch.load(shared / "checkpoint.pt", weights_only=True)["config"]["seed"] == seed
    assert _event_files(shared) == 1


def _event_files(run_dir: Path) -> int:
    """How many event files one run's writer made in its tb/ (beside its HParams file)."""
    names = [p.name for p in (run_dir / "tb").iterdir()]
    assert HPARAMS_FILE in names, names
    return len(names) - 1


def test_a_refused_run_leaves_no_folder_and_a_reused_folder_is_unchanged(tmp_path, tiny_words_file, cli):
    job = [*TINY_OVERRIDES, f"data.path={tiny_words_file}"]
    finished = tmp_path / "finished"
    assert cli([*job, f"hydra.run.dir={finished}"], cwd=tmp_path).returncode == 0
    before = digests(finished)
    time.sleep(1.1)  # a rewrite would show in the files' bytes; metrics.json carries times
    reused = cli([*job, "seed=3", f"hydra.run.dir={finished}"], cwd=tmp_path)
    assert reused.returncode == 2 and reused.stderr.count("\n") == 1, reused.stderr
    assert f"{finished} already holds a run" in reused.stderr and "resume=true" in reused.stderr
    assert digests(finished) == before

    refused = cli([*job, "data.path=missing.txt", "hydra.run.dir=new/deep/run"], cwd=tmp_path)
    assert refused.returncode == 2 and "file not found" in refused.stderr
    assert not (tmp_path / "new").exists()
    refused = cli([*job, "data.path=missing.txt"], cwd=tmp_path)  # a default directory
    assert refused.returncode == 2 and not (tmp_path / "runs").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["finished", "words.txt"]


def test_a_sweep_folder_is_not_reused_without_resume(tmp_path, tiny_words_file, cli):
    job = [*TINY_OVERRIDES, "max_steps=20", f"data.path={tiny_words_file}"]
    sweep = tmp_path / "sweep"
    assert cli(["--multirun", *job, "seed=1,2", f"hydra.sweep.dir={sweep}"], cwd=REPO).returncode == 0
    before = digests(sweep)
    again = cli(["--multirun", *job, "seed=1,2", f"hydra.sweep.dir={sweep}"], cwd=REPO)
    assert again.returncode == 2 and "already holds a sweep" in again.stderr, again.stderr
    assert digests(sweep) == before


def test_default_directories_of_runs_composed_in_the_same_second_differ():
    for _ in range(5):  # until both fall in one second (a compose takes a fraction of one)
        a, b = (str(compose_config(hydra_config=True).hydra.run.dir) for _ in range(2))
        if a.rsplit("-", 1)[0] == b.rsplit("-", 1)[0]:
            break
    assert a.rsplit("-", 1)[0] == b.rsplit("-", 1)[0], (a, b)
    assert a != b and a.startswith("runs/")
    sweep_a, sweep_b = (str(compose_config(hydra_config=True).hydra.sweep.dir) for _ in range(2))
    assert sweep_a != sweep_b
