"""The command line before Hydra sees it: a storage password moved out of the arguments.

A password typed in the storage URL (`hydra.sweeper.storage=postgresql://user:pw@host/db`)
goes to PGPASSWORD (read by libpq), so Hydra's launch lines, saved configs and every job's
files only ever hold the password-free URL (base/passwords.py has the rules of URLs).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

from wavenet_harness.base.errors import UsageError
from wavenet_harness.base.passwords import (
    AMBIGUOUS_URL,
    POSTGRES_SCHEMES,
    STORAGE_ARGUMENT,
    ambiguous_userinfo,
    has_password,
    masked,
    parse_url,
    password_free_url,
    remember_secrets_in,
)


def move_storage_password_to_env(argv: list[str], environ: MutableMapping[str, str] | None = None) -> list[str]:
    """argv with a PostgreSQL storage URL's password moved into PGPASSWORD (for libpq).

    Every argument's URL secrets are remembered for `masked`. A password in any other
    argument (or in a storage URL of another database, whose driver reads no PGPASSWORD)
    would reach Hydra's printed lines and saved files: UsageError, with the
    argument masked.
    """
    env = os.environ if environ is None else environ
    result = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        bare = value.strip().strip("'\"")
        if sep and ambiguous_userinfo(bare):  # said before any part of it is printed or stored
            raise UsageError(f"{key.lstrip('+')}: the URL {AMBIGUOUS_URL}")
        secrets = remember_secrets_in(bare) if sep else []
        if not secrets:
            if sep and has_password(bare):  # a URL SQLAlchemy cannot read, with something like a password
                raise UsageError(
                    f"{masked(arg)} holds a password that would be printed and stored: "
                    "give the URL without it and put the password in ~/.pgpass or PGPASSWORD"
                )
            result.append(arg)
            continue
        url = parse_url(bare)
        assert url is not None  # it held secrets, so SQLAlchemy read it
        is_storage = key.lstrip("+") + "=" == STORAGE_ARGUMENT
        if not (is_storage and url.get_backend_name() in POSTGRES_SCHEMES):
            raise UsageError(
                f"{masked(arg)} holds a password that would be printed and stored: give the URL "
                "without it and put the password in ~/.pgpass or PGPASSWORD (PostgreSQL)"
            )
        if url.query.get("sslpassword"):  # no environment variable takes it: it would stay in the URL
            raise UsageError(
                f"{masked(arg)} holds sslpassword, which would be printed and stored: "
                "give the client key without a passphrase, or keep it out of the URL"
            )
        password = url.password or url.query.get("password")
        if isinstance(password, tuple):
            password = password[0]
        if password:
            env["PGPASSWORD"] = str(password)
        result.append(f"{key}={password_free_url(url)}")
    return result
