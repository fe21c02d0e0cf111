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

from helpers import REPO
from readme_commands import documentation_pages

README = REPO / "README.md"


def test_site_builds_strict(tmp_path):
    assert importlib.util.find_spec("mkdocs"), 'mkdocs is missing: pip install -e ".[docs]" (the [test] extra includes it)'
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(REPO / "mkdocs.yml"),
                           "-d", str(tmp_path / "site")], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").exists() and (tmp_path / "site" / "sweeps" / "index.html").exists()


def test_every_page_is_in_the_nav():
    in_nav = {page.name for page in documentation_pages(REPO)}
    on_disk = {page.name for page in (REPO / "docs").glob("*.md")}
    assert in_nav == on_disk, f"pages not in mkdocs.yml's nav: {sorted(on_disk - in_nav)}; missing: {sorted(in_nav - on_disk)}"


def test_readme_links_and_pictures_exist():
    text = README.read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if not re.match(r"^[a-z]+://", t)]
    assert any(t.startswith("docs/") for t in local)
    missing = [t for t in local if not (REPO / t).exists()]
    assert not missing, f"README links to missing files: {missing}"


def test_readme_is_short():
    assert len(README.read_text().splitlines()) <= 300
