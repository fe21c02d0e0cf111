"""Database passwords: never printed, never stored.

The safe way is a URL without a password (`postgresql://user@host:5432/db`) and the
password in ~/.pgpass or the PGPASSWORD environment variable, both read by libpq. A
password typed in the storage URL on the command line (`hydra.sweeper.storage=
postgresql://user:pw@host/db`, or `...?password=pw`) is taken out of the arguments before
Hydra sees them and handed to libpq as PGPASSWORD, so Hydra's launch lines, saved configs
and every job's files only ever hold the password-free URL.

URLs are read by SQLAlchemy's `make_url` (the parser Optuna's storage itself uses), so
every form it accepts is understood: a password with spaces, quotes or %-escapes, an
empty user name (`postgresql://:pw@host/db`), `password=` in the query string. Each
password seen whole (an argument, a config value) is remembered for this process, and
`masked` replaces it wherever it appears, even in text no parser could split into URLs
(an error that quotes half a URL). Whatever still carries one is written masked (***).

It knows nothing of Optuna or Hydra beyond the storage argument's name; SQLAlchemy is
imported only when a text holds a URL.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
STORAGE_ARGUMENT = "hydra.sweeper.storage="
POSTGRES_SCHEMES = ("postgresql", "postgres")  # with or without +driver
# Query-string keys libpq (and so SQLAlchemy's PostgreSQL drivers) reads as secrets.
SECRET_QUERY_KEYS = ("password", "sslpassword")
# A URL inside longer text: scheme:// up to whitespace or a quote.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"]+")
# Fallbacks for what no parser splits: scheme://user:password@ (to the last '@') and ?password=.
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s'\"]*:)(?P<password>[^\s'\"]*)@")
_QUERY = re.compile(r"(?P<head>[?&](?:ssl)?password=)(?P<password>[^&\s'\"]*)", re.IGNORECASE)
# Passwords seen whole in this process. Shorter ones are masked only where they sit in a URL:
# replacing every "ab" in every line would garble the output and hide nothing worth hiding.
_KNOWN: set[str] = set()
SHORTEST_MASKED_ANYWHERE = 4


def ambiguous_userinfo(text: str) -> bool:
    """A URL with two or more '@' before its host (`postgresql://u:p@ss@host/db`): SQLAlchemy
    and libpq would split it at different '@'s, so part of the password could become the host."""
    if "://" not in text:
        return False
    authority = text.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
    return authority.count("@") > 1


AMBIGUOUS_URL = (
    "has more than one '@' before the host, so it can be split more than one way: write an '@' "
    "inside the user name or password as %40 (p@ss becomes p%40ss), or keep the password in "
    "~/.pgpass or PGPASSWORD"
)


def parse_url(text: str) -> Any | None:
    """SQLAlchemy's URL for `text`, or None when it is not a URL SQLAlchemy reads."""
    if "://" not in text:
        return None
    from sqlalchemy.engine import make_url

    try:
        return make_url(text.strip())
    except Exception:  # ArgumentError, ValueError (a bad port): not a URL we can read
        return None


def url_secrets(url: Any) -> list[str]:
    """The password and any secret query values of a parsed URL."""
    found = [url.password] if url.password else []
    for key in SECRET_QUERY_KEYS:
        value = url.query.get(key)
        values = value if isinstance(value, tuple) else (value,)
        found += [str(v) for v in values if v and v != MASK]
    return [s for s in found if s != MASK]


def _rebuilt(url: Any, password: str | None, query: dict) -> str:
    from sqlalchemy.engine import URL

    # URL.set() ignores None, so a password cannot be dropped with it: build anew.
    rebuilt = URL.create(
        url.drivername,
        username=url.username or None,
        password=password,
        host=url.host,
        port=url.port,
        database=url.database,
        query=query,
    )
    return rebuilt.render_as_string(hide_password=False).replace(quote(MASK, safe=""), MASK)


def redacted_url(url: Any) -> str:
    """The URL as text with its password and secret query values shown as ***."""
    query = {k: (MASK if k in SECRET_QUERY_KEYS else v) for k, v in url.query.items()}
    return _rebuilt(url, MASK if url.password else None, query)


def password_free_url(url: Any) -> str:
    """The URL as text without any password (libpq then reads ~/.pgpass or PGPASSWORD)."""
    return _rebuilt(url, None, {k: v for k, v in url.query.items() if k not in SECRET_QUERY_KEYS})


def remember_secrets_in(text: str) -> list[str]:
    """Note the secrets of a whole-value URL, so `masked` hides them anywhere; return them."""
    url = parse_url(text)
    found = url_secrets(url) if url is not None else []
    _KNOWN.update(found)
    return found


def masked(text: str) -> str:
    """Text fit to print or store: every URL password (and each one seen before) as ***."""
    for secret in sorted(_KNOWN, key=len, reverse=True):
        if len(secret) >= SHORTEST_MASKED_ANYWHERE:
            for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                text = text.replace(form, MASK)

    def hide(match: re.Match) -> str:
        url = parse_url(match.group(0))
        return redacted_url(url) if url is not None and url_secrets(url) else match.group(0)

    text = _URL_IN_TEXT.sub(hide, text)
    text = _USERINFO.sub(lambda m: m.group("head") + (MASK if m.group("password") else "") + "@", text)
    return _QUERY.sub(lambda m: m.group("head") + MASK, text)


def has_password(text: str) -> bool:
    """Whether the text (a URL or a line holding URLs) carries a password not yet masked."""
    url = parse_url(text)
    if url is not None and url_secrets(url):
        return True
    return masked(text) != text


def mask_secrets(value: Any) -> Any:
    """A copy of a config tree (dicts, lists, strings) with every URL password masked."""
    if isinstance(value, str):
        remember_secrets_in(value)
        return masked(value)
    if isinstance(value, dict):
        return {key: mask_secrets(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_secrets(item) for item in value]
    return value
