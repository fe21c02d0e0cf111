"""A throwaway PostgreSQL server on loopback for the tests that share an Optuna study.

`postgres_server()` starts one with initdb + pg_ctl in a temporary folder (as the
`postgres` user when the tests run as root, since the server refuses root) and stops and
removes it afterwards. With `password`, clients must give it (scram-sha-256); without,
any local client is trusted. A machine without the server binaries skips the test.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _postgres_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_user() -> pwd.struct_passwd | None:
    """The account to run the server as: None for the current one, `postgres` under root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user to run the server as")


@contextlib.contextmanager
def postgres_server(password: str | None = None) -> Iterator[int]:
    """Start a server on 127.0.0.1; yield its port; stop it and remove its files."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binary (pg_ctl) on this machine: apt-get install postgresql")
    user = _server_user()
    as_user = ["runuser", "-u", "postgres", "--"] if user else []
    home = Path(tempfile.mkdtemp(prefix="wavenet-pg-"))
    auth = ["--auth=trust"]
    if password is not None:
        (home / "pw").write_text(password + "\n")
        auth = ["--auth=scram-sha-256", f"--pwfile={home / 'pw'}"]
    if user:
        for path in home.iterdir():
            os.chown(path, user.pw_uid, user.pw_gid)
        os.chown(home, user.pw_uid, user.pw_gid)
    data, port = home / "data", _free_port()

    def run(*cmd) -> None:
        subprocess.run([*as_user, *map(str, cmd)], check=True, capture_output=True, text=True)

    try:
        run(bindir / "initdb", "-D", data, "-U", "postgres", *auth, "-N")
        options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(bindir / "pg_ctl", "-D", data, "-l", home / "server.log", "-o", options, "-w", "-t", "60", "start")
        yield port
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True
        )
        shutil.rmtree(home, ignore_errors=True)
