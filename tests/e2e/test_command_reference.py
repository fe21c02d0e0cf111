"""docs/commands.md is every console script's --help as the scripts print it now.

The page is compared with what scripts/command_reference.py renders from the live `--help`
of each console script in pyproject.toml, so a changed option, help text or new script makes
this fail until the page is rewritten (`python scripts/command_reference.py`).
"""

from __future__ import annotations

import difflib
import importlib.util
import re
import sys

import pytest
import tomllib  # type: ignore[import-not-found]  # Python 3.11+ (mypy checks as 3.10): these tests need 3.11

from helpers import REPO

SCRIPT = REPO / "scripts" / "command_reference.py"
PAGE = REPO / "docs" / "commands.md"


def _script():
    spec = importlib.util.spec_from_file_location("command_reference", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reference():
    """The script, with each --help taken once for every test here."""
    module = _script()
    taken: dict[str, str] = {}
    original = module.help_text

    def once(name: str, entry: str) -> str:
        if name not in taken:
            taken[name] = original(name, entry)
        return taken[name]

    module.help_text = once
    return module


@pytest.fixture(scope="module")
def live(reference) -> str:
    return reference.render()


def _same_python(page: str) -> None:
    written = re.search(r"as of\s+Python (\d+\.\d+)", page)
    assert written, "docs/commands.md does not say which Python wrote it"
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if written.group(1) != here:
        pytest.skip(f"docs/commands.md was written with Python {written.group(1)}'s argparse; this is {here}")


def test_the_page_has_every_console_script_in_pyproject_order(reference):
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert reference.console_scripts() == scripts
    assert re.findall(r"^## (\S+)$", PAGE.read_text(), re.M) == list(scripts)


def test_the_page_is_the_live_help(live):
    page = PAGE.read_text()
    _same_python(page)
    diff = "".join(
        difflib.unified_diff(page.splitlines(True), live.splitlines(True), "docs/commands.md", "live --help")
    )
    assert page == live, f"docs/commands.md is out of date: run python scripts/command_reference.py\n{diff[:3000]}"


def test_a_changed_help_is_caught(monkeypatch, reference, live):
    _same_python(PAGE.read_text())
    original = reference.help_text

    def changed(name: str, entry: str) -> str:
        text = original(name, entry)
        return text + "  --new-option          added since the page was written\n" if name == "wavenet-sample" else text

    monkeypatch.setattr(reference, "help_text", changed)
    assert reference.render() != PAGE.read_text()
