"""Database passwords are never printed or stored.

Unit tests of wavenet_harness/base/passwords.py, then an Optuna sweep against a real
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
from postgres_server import postgres_server

from helpers import REPO, TINY_OVERRIDES, read_metrics
from wavenet_harness.adapter.argv import move_storage_password_to_env
from wavenet_harness.base.passwords import has_password, mask_secrets, masked

PASSWORD = "Kn0wn-s3cret-Pw"


def test_masked_hides_every_url_password():
    assert masked("postgresql://me:s3cret@db:5432/study") == "postgresql://me:***@db:5432/study"
    assert masked("+optuna.storage='postgresql://me:s3cret@db/x'") == "+optuna.storage='postgresql://me:***@db/x'"
    assert masked("postgresql://me@db/study") == "postgresql://me@db/study"
    assert masked("mysql://a:b@h/x and sqlite:///x.db") == "mysql://a:***@h/x and sqlite:///x.db"
    assert has_password("postgresql://me:pw@db/x") and not has_password("postgresql://me:***@db/x")
    assert mask_secrets({"a": ["postgresql://u:pw@h/d", 1], "b": None}) == {
        "a": ["postgresql://u:***@h/d", 1],
        "b": None,
    }


def test_a_password_on_the_command_line_moves_to_pgpassword():
    env: dict = {}
    argv = ["--multirun", "hydra.sweeper.storage=postgresql://me:p%40ss@db:5432/x", "lr=0.1"]
    assert move_storage_password_to_env(argv, env) == [
        "--multirun",
        "hydra.sweeper.storage=postgresql://me@db:5432/x",
        "lr=0.1",
    ]
    assert env == {"PGPASSWORD": "p@ss"}
    untouched = ["hydra.sweeper.storage=postgresql://me@db/x", "hydra.sweeper.storage=sqlite:///a.db"]
    assert move_storage_password_to_env(untouched, env) == untouched


@pytest.mark.parametrize(
    "typed, password_free, password",
    [
        ("postgresql://me:pa ss@db/x", "postgresql://me@db/x", "pa ss"),
        ("postgresql://me:it's\"q@db:5432/x", "postgresql://me@db:5432/x", "it's\"q"),
        ("postgresql://:s3cr3t@db/x", "postgresql://db/x", "s3cr3t"),
        (
            "postgresql+psycopg2://me@db/x?password=q%20pw&sslmode=disable",
            "postgresql+psycopg2://me@db/x?sslmode=disable",
            "q pw",
        ),
    ],
)
def test_every_url_form_moves_its_password_and_masks_it_everywhere(typed, password_free, password):
    env: dict = {}
    assert move_storage_password_to_env([f"hydra.sweeper.storage={typed}"], env) == [
        f"hydra.sweeper.storage={password_free}"
    ]
    assert env == {"PGPASSWORD": password}
    # Seen whole once, the password is masked even where no parser finds a URL around it.
    assert password not in masked(f"could not parse {typed!r}: near {password}")
    assert password not in str(mask_secrets({"storage": typed, "cmd": [f"x={typed}"]}))


def test_a_password_in_any_other_argument_is_refused_masked():
    from wavenet_harness.base.errors import UsageError

    for arg in (
        "+note=postgresql://me:hunter22@db/x",
        "hydra.sweeper.storage=mysql://me:hunter22@db/x",
        "+note=postgresql://me@db/x?password=hunter22",
    ):
        with pytest.raises(UsageError) as refused:
            move_storage_password_to_env([arg], {})
        assert "hunter22" not in str(refused.value) and "***" in str(refused.value)


@pytest.fixture
def postgres_with_password():
    """A PostgreSQL server on loopback that asks for the password: its port."""
    with postgres_server(PASSWORD) as port:
        yield port


def _sweep(words: Path, sweep_dir: Path, storage: str, study: str, env: dict) -> subprocess.CompletedProcess:
    args = [
        "--multirun",
        "hydra/sweeper=wavenet_optuna",
        *TINY_OVERRIDES,
        "max_steps=20",
        f"data.path={words}",
        f"hydra.sweep.dir={sweep_dir}",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.sampler.name=random",
        "hydra.sweeper.sampler.seed=0",
        "+hydra.sweeper.params.lr={type:float,low:0.01,high:0.5}",
        f"hydra.sweeper.storage={storage}",
        f"hydra.sweeper.study_name={study}",
        "checkpoint_interval=10",
    ]
    return subprocess.run(["wavenet-train", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_no_file_or_line_of_a_postgresql_sweep_holds_the_password(tmp_path, tiny_words_file, postgres_with_password):
    port = postgres_with_password
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
    env.update(HYDRA_FULL_ERROR="0", PYTHONUNBUFFERED="1", HOME=str(tmp_path / "home"))
    (tmp_path / "home").mkdir()

    # 1. The password typed in the URL: it works, and goes nowhere but libpq.
    typed = _sweep(
        tiny_words_file, tmp_path / "typed", f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/postgres", "typed", env
    )
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
    args = [
        "--multirun",
        "hydra/sweeper=wavenet_optuna",
        *TINY_OVERRIDES,
        f"data.path={tiny_words_file}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        "+hydra.sweeper.params.lr={type:float,low:0.01,high:0.5}",
        f"hydra.sweeper.storage=mysql://me:{PASSWORD}@127.0.0.1/db",
    ]
    env = dict(os.environ, HYDRA_FULL_ERROR="0")
    result = subprocess.run(["wavenet-train", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "holds a password" in result.stderr and "mysql://me:***@127.0.0.1/db" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert not (tmp_path / "sweep").exists() or not any(
        PASSWORD.encode() in p.read_bytes() for p in (tmp_path / "sweep").rglob("*") if p.is_file()
    )


def _create_user(admin_url: str, user: str, password: str) -> None:
    """A second login role on the test server, allowed to make Optuna's tables."""
    from sqlalchemy import create_engine, text

    from wavenet_harness.sweeps.study import _with_installed_driver

    engine = create_engine(_with_installed_driver(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        literal = password.replace("'", "''")
        connection.execute(text(f"CREATE ROLE {user} LOGIN PASSWORD '{literal}'"))
        connection.execute(text(f"GRANT ALL ON SCHEMA public TO {user}"))
    engine.dispose()


# Every character a shell or a URL makes awkward: a space, both quotes, '@', '%', '#' and '/'.
AWKWARD = "Sp ace'Qu\"ote@p%ss#w/rd"


def test_awkward_passwords_in_every_url_form_work_and_are_never_printed_or_stored(tmp_path, tiny_words_file):
    from urllib.parse import quote

    with postgres_server(AWKWARD) as port:
        env = {k: v for k, v in os.environ.items() if k not in ("PGPASSWORD", "PGUSER")}
        env.update(HYDRA_FULL_ERROR="0", PYTHONUNBUFFERED="1", HOME=str(tmp_path / "home"))
        (tmp_path / "home").mkdir()
        host = f"127.0.0.1:{port}/postgres"
        forms = {  # as a user would type them (a %-escaped password is what the URL standard asks for)
            "escaped": (f"postgresql://postgres:{quote(AWKWARD, safe='')}@{host}", env),
            "query": (f"postgresql://postgres@{host}?password={quote(AWKWARD, safe='')}", env),
            "empty_user": (f"postgresql://:{quote(AWKWARD, safe='')}@{host}", dict(env, PGUSER="postgres")),
        }
        # Typed raw, with a space and both quotes, for a second user (no '@', '#' or '/': raw, those are ambiguous).
        raw = "ra w'pass\"word"
        _create_user(f"postgresql://postgres:{quote(AWKWARD, safe='')}@{host}", "rawuser", raw)
        # First, so that it creates Optuna's tables (the superuser may use them after it).
        forms = {"raw": (f"postgresql://rawuser:{raw}@{host}", env), **forms}
        printed = ""
        for name, (url, form_env) in forms.items():
            done = _sweep(tiny_words_file, tmp_path / name, url, name, form_env)
            printed += done.stdout + done.stderr
            assert done.returncode == 0, (name, done.stderr[-3000:])
            assert all(
                read_metrics(job)["status"] == "ok"
                for job in (tmp_path / name).glob("*/")
                if (job / "metrics.json").exists()
            )
        # A wrong password: refused in one line that does not show it (Optuna's study and wavenet-study).
        wrong = "Wr0ng pass'word"
        bad_url = f"postgresql://postgres:{quote(wrong, safe='')}@{host}"
        refused = _sweep(tiny_words_file, tmp_path / "wrong", bad_url, "wrong", env)
        study = subprocess.run(
            ["wavenet-study", "--storage", f"postgresql://postgres:{wrong}@{host}"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    for result, prog in ((refused, "wavenet-train"), (study, "wavenet-study")):
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), result.stderr
        assert "password authentication failed" in lines[0] or "cannot open" in lines[0], lines[0]
    printed += refused.stdout + refused.stderr + study.stdout + study.stderr
    for secret in (AWKWARD, quote(AWKWARD, safe=""), wrong, quote(wrong, safe=""), raw):
        assert secret not in printed
        leaks = [str(p) for p in tmp_path.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
        assert leaks == [], secret
    searched = [p for name in forms for p in (tmp_path / name).rglob("*") if p.is_file()]
    assert {p.name for p in searched} >= {
        "multirun.yaml",
        "config.yaml",
        "hydra.yaml",
        "overrides.yaml",
        "checkpoint.pt",
        "metrics.json",
    }


@pytest.mark.parametrize("url", ["postgresql://u:p@ssw0rd@db.example/x", "postgresql://me@home:pw@db.example/x"])
def test_a_url_with_two_at_signs_before_the_host_is_refused_without_its_parts(url, cli):
    from wavenet_harness.adapter.argv import move_storage_password_to_env
    from wavenet_harness.base.errors import UsageError

    with pytest.raises(UsageError) as refused:
        move_storage_password_to_env([f"hydra.sweeper.storage={url}"], environ={})
    assert "%40" in str(refused.value) and "ssw0rd" not in str(refused.value) and "home:pw" not in str(refused.value)
    code, out, err = cli.in_process("wavenet-study", ["--storage", url])
    assert code == 2 and "%40" in err and "ssw0rd" not in err + out and "pw@" not in err + out


def test_a_search_leaves_no_password_on_its_command_line(tmp_path, tiny_words_file, cli):
    """`ps` shows every user a process's arguments: the password leaves them before the search starts."""
    import time

    process = cli.start(
        [
            "--multirun",
            "hparams_search=hier_optuna",
            "hydra.sweeper.n_trials=1",
            "hydra.sweeper.storage=postgresql://me:S3cretPw@127.0.0.1:9/x",
            f"data.path={tiny_words_file}",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    seen = []
    while process.poll() is None:
        try:
            seen.append(Path(f"/proc/{process.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            break
        time.sleep(0.05)
    _, err = process.communicate(timeout=120)
    assert process.returncode != 0 and "S3cretPw" not in err  # no database there: it ends in one line
    without = [line for line in seen if "hparams_search" in line and "S3cretPw" not in line]
    assert without, "the search never ran without the password in its arguments"
    assert "S3cretPw" not in seen[-1] and all("S3cretPw" not in line for line in seen[seen.index(without[0]) :])
