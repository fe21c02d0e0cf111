"""Database passwords: never printed, never stored.

The safe way is a URL without a password (`postgresql://user@host:5432/db`) and the
password in ~/.pgpass or the PGPASSWORD environment variable, both read by libpq. A
password typed in the URL on the command line (`hydra.sweeper.storage=postgresql://
user:pw@host/db`) is taken out of the arguments before Hydra sees them and handed to
libpq as PGPASSWORD, so Hydra's launch lines, saved configs and every job's files only
ever hold the password-free URL. Whatever still carries one is written masked (***).

It knows nothing of Optuna or Hydra beyond the argument's name.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import unquote

# scheme://user:password@host  (the password is whatever lies between ':' and the last '@')
_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s'\"]+:)(?P<password>[^\s'\"]*)@")
STORAGE_ARGUMENT = "hydra.sweeper.storage="
POSTGRES_SCHEMES = ("postgresql://", "postgresql+psycopg2://", "postgresql+psycopg://", "postgres://")


def masked(text: str) -> str:
    """Text fit to print or store: each URL password replaced by ***."""
    return _PASSWORD.sub(lambda m: m.group("head") + "***@", text)


def has_password(text: str) -> bool:
    return any(m.group("password") and m.group("password") != "***" for m in _PASSWORD.finditer(text))


def mask_secrets(value: Any) -> Any:
    """A copy of a config tree (dicts, lists, strings) with every URL password masked."""
    if isinstance(value, str):
        return masked(value)
    if isinstance(value, dict):
        return {key: mask_secrets(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_secrets(item) for item in value]
    return value


def _split_password(url: str) -> tuple[str, str | None]:
    match = _PASSWORD.search(url)
    if not match or not match.group("password"):
        return url, None
    password_free = url[: match.start()] + match.group("head")[:-1] + "@" + url[match.end():]
    return password_free, unquote(match.group("password"))


def move_storage_password_to_env(argv: list[str], environ: dict | None = None) -> list[str]:
    """argv with a PostgreSQL storage URL's password moved into PGPASSWORD (for libpq)."""
    environ = os.environ if environ is None else environ
    result = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and key.lstrip("+") + "=" == STORAGE_ARGUMENT:
            bare = value.strip("'\"")
            if bare.startswith(POSTGRES_SCHEMES):
                password_free, password = _split_password(bare)
                if password is not None:
                    environ["PGPASSWORD"] = password
                    arg = f"{key}={password_free}"
        result.append(arg)
    return result
