"""Database passwords are never printed or stored.

Unit tests of wavenet_harness/passwords.py, then an Optuna sweep against a real
PostgreSQL server on loopback that checks passwords (scram-sha-256): once with the
password typed in the storage URL, once with a password-free URL and ~/.pgpass. Every
byte the sweeps printed and every file of their folders (configs, overrides, metrics,
checkpoints, TensorBoard events, the journal) is searched for the password.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from helpers import REPO, TINY_OVERRIDES, read_metrics
from postgres_server import postgres_server

from wavenet_harness.passwords import has_password, mask_secrets, masked, move_storage_password_to_env

PASSWORD = "Kn0wn-s3cret-Pw"


def test_masked_hides_every_url_password():
    assert masked("postgresql://me:s3cret@db:5432/study") == "postgresql://me:***@db:5432/study"
    assert masked("+optuna.storage='postgresql://me:s3cret@db/x'") == "+optuna.storage='postgresql://me:***@db/x'"
    assert masked("postgresql://me@db/study") == "postgresql://me@db/study"
    assert masked("mysql://a:b@h/x and sqlite:///x.db") == "mysql://a:***@h/x and sqlite:///x.db"
    assert has_password("postgresql://me:pw@db/x") and not has_password("postgresql://me:***@db/x")
    assert mask_secrets({"a": ["postgresql://u:pw@h/d", 1], "b": None}) == {"a": ["postgresql://u:***@h/d", 1], "b": None}


def test_a_password_on_the_command_line_moves_to_pgpassword():
    env: dict = {}
    argv = ["--multirun", "hydra.sweeper.storage=postgresql://me:p%40ss@db:5432/x", "lr=0.1"]
    assert move_storage_password_to_env(argv, env) == ["--multirun", "hydra.sweeper.storage=postgresql://me@db:5432/x",
                                                       "lr=0.1"]
    assert env == {"PGPASSWORD": "p@ss"}
    untouched = ["hydra.sweeper.storage=postgresql://me@db/x", "hydra.sweeper.storage=sqlite:///a.db"]
    assert move_storage_password_to_env(untouched, env) == untouched


@pytest.fixture
def postgres_with_password():
    """A PostgreSQL server on loopback that asks for the password: its port."""
    with postgres_server(PASSWORD) as port:
        yield port


def _sweep(words: Path, sweep_dir: Path, storage: str, study: str, env: dict) -> subprocess.CompletedProcess:
    args = ["--multirun", "hydra/sweeper=wavenet_optuna", *TINY_OVERRIDES, "max_steps=20", f"data.path={words}",
            f"hydra.sweep.dir={sweep_dir}", "hydra.sweeper.n_trials=2", "hydra.sweeper.sampler.name=random",
            "hydra.sweeper.sampler.seed=0", "+hydra.sweeper.params.lr={type:float,low:0.01,high:0.5}",
            f"hydra.sweeper.storage={storage}", f"hydra.sweeper.study_name={study}", "checkpoint_interval=10"]
    return subprocess.run(["wavenet-train", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_no_file_or_line_of_a_postgresql_sweep_holds_the_password(tmp_path, tiny_words_file, postgres_with_password):
    port = postgres_with_password
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
    env.update(HYDRA_FULL_ERROR="0", PYTHONUNBUFFERED="1", HOME=str(tmp_path / "home"))
    (tmp_path / "home").mkdir()

    # 1. The password typed in the URL: it works, and goes nowhere but libpq.
    typed = _sweep(tiny_words_file, tmp_path / "typed", f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/postgres",
                   "typed", env)
    assert typed.returncode == 0, typed.stderr[-3000:]
    # 2. The safe way: no password in the URL, ~/.pgpass (libpq reads it; PGPASSWORD works alike).
    pgpass = tmp_path / "home" / ".pgpass"
    pgpass.write_text(f"127.0.0.1:{port}:*:postgres:{PASSWORD}\n")
    pgpass.chmod(0o600)
    safe = _sweep(tiny_words_file, tmp_path / "safe", f"postgresql://postgres@127.0.0.1:{port}/postgres", "safe", env)
    assert safe.returncode == 0, safe.stderr[-3000:]

    for name in ("typed", "safe"):
        jobs = sorted(p.parent for p in (tmp_path / name).glob("*/metrics.json"))
        assert len(jobs) == 2 and all(read_metrics(job)["status"] == "ok" for job in jobs)
        assert all((job / "checkpoint.pt").is_file() and (job / ".hydra" / "hydra.yaml").is_file() for job in jobs)
        assert (tmp_path / name / "multirun.yaml").is_file()
    assert f"postgresql://postgres@127.0.0.1:{port}/postgres" in typed.stdout + typed.stderr  # the URL is shown...
    printed = typed.stdout + typed.stderr + safe.stdout + safe.stderr
    assert PASSWORD not in printed  # ...without its password, Hydra's launch lines included
    searched = [p for name in ("typed", "safe") for p in (tmp_path / name).rglob("*") if p.is_file()]
    assert len(searched) >= 20
    leaks = [str(p) for p in searched if PASSWORD.encode() in p.read_bytes()]
    assert leaks == []


def test_a_password_from_a_config_file_or_another_database_is_refused_in_one_line(tmp_path, tiny_words_file):
    args = ["--multirun", "hydra/sweeper=wavenet_optuna", *TINY_OVERRIDES, f"data.path={tiny_words_file}",
            f"hydra.sweep.dir={tmp_path / 'sweep'}", "+hydra.sweeper.params.lr={type:float,low:0.01,high:0.5}",
            f"hydra.sweeper.storage=mysql://me:{PASSWORD}@127.0.0.1/db"]
    env = dict(os.environ, HYDRA_FULL_ERROR="0")
    result = subprocess.run(["wavenet-train", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "holds a password" in result.stderr and "mysql://me:***@127.0.0.1/db" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert not (tmp_path / "sweep").exists() or not any(
        PASSWORD.encode() in p.read_bytes() for p in (tmp_path / "sweep").rglob("*") if p.is_file())
