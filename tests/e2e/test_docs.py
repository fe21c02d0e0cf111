"""The documentation site builds without a warning, holds every page, and the README's links lead somewhere.

`mkdocs build --strict` (mkdocs.yml sets the link and anchor checks to warn, and strict turns
a warning into a failure) is what CI runs; the README is read on GitHub, not by mkdocs, so
its relative links are checked here.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

from readme_commands import documentation_pages

from helpers import REPO

README = REPO / "README.md"


def test_site_builds_strict(tmp_path):
    assert importlib.util.find_spec("mkdocs"), (
        'mkdocs is missing: pip install -e ".[docs]" (the [test] extra includes it)'
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(REPO / "mkdocs.yml"),
            "-d",
            str(tmp_path / "site"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").exists() and (tmp_path / "site" / "sweeps" / "index.html").exists()


def test_every_page_is_in_the_nav():
    in_nav = {page.name for page in documentation_pages(REPO)}
    on_disk = {page.name for page in (REPO / "docs").glob("*.md")}
    assert in_nav == on_disk, (
        f"pages not in mkdocs.yml's nav: {sorted(on_disk - in_nav)}; missing: {sorted(in_nav - on_disk)}"
    )


def test_readme_links_and_pictures_exist():
    text = README.read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if not re.match(r"^[a-z]+://", t)]
    assert any(t.startswith("docs/") for t in local)
    missing = [t for t in local if not (REPO / t).exists()]
    assert not missing, f"README links to missing files: {missing}"


def test_readme_is_short():
    assert len(README.read_text().splitlines()) <= 300


WIDEST_COMMAND = 90  # about what a code block on the site shows without scrolling sideways


def long_command_lines(text: str) -> list[tuple[int, str]]:
    """Lines over WIDEST_COMMAND characters that are commands: every line of a bash block, and
    the `$ ` lines of any other block (outputs may be wide; a command is continued with `\\`)."""
    found, fence = [], None
    for number, line in enumerate(text.splitlines(), 1):
        opening = re.match(r"^```(\w*)", line)
        if opening and fence is None:
            fence = opening.group(1) or "plain"
        elif line.startswith("```"):
            fence = None
        elif fence and len(line) > WIDEST_COMMAND and (fence in ("bash", "sh", "shell") or line.startswith("$ ")):
            found.append((number, line))
    return found


def test_commands_fit_the_page_without_scrolling():
    assert long_command_lines(
        "```bash\n" + "x" * 91 + "\n```\n```console\n$ " + "y" * 89 + "\n" + "z" * 200 + "\n```"
    ) == [(2, "x" * 91), (5, "$ " + "y" * 89)]
    pages = [README, *sorted((REPO / "docs").glob("*.md"))]
    long = [
        f"{page.relative_to(REPO)}:{n}: {len(line)} characters: {line[:60]}..."
        for page in pages
        for n, line in long_command_lines(page.read_text())
    ]
    assert not long, "command lines to wrap with a trailing \\ (or a shorter comment):\n" + "\n".join(long)


def test_scripts_say_they_run_from_a_checkout_and_stay_out_of_the_wheel():
    import ast

    import tomllib  # type: ignore[import-not-found]  # Python 3.11+ (mypy checks as 3.10): this test needs 3.11

    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert not [p for p in packages if p.split(".")[0] == "scripts"]
    for script in sorted((REPO / "scripts").glob("*.py")):
        docstring = ast.get_docstring(ast.parse(script.read_text())) or ""
        assert "From a checkout only" in docstring, f"{script.name}'s docstring does not say it runs from a checkout"
    assert "scripts/` is for checkouts only" in (REPO / "docs" / "install.md").read_text()
