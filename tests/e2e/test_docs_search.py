"""The documentation site's search works in a real browser.

mkdocs-material searches in a web worker that fetches search/search_index.json; opened from
file:// the worker cannot start and the box says "Initializing search" for ever. So the site
is built into a scratch folder, served by Python's http.server on a free loopback port, and
headless Chromium (Selenium, Debian's chromium and chromium-driver) types a query into the
search box; the results must list pages. Without the browser the test is skipped, unless CI
is set: then it fails.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from helpers import REPO

QUERIES = {  # a query -> a page title its results must include
    "hyperband": "Tuning results",
    "sbatch": "Running on a SLURM cluster",
    "wheel": "Install",
}


def _browser() -> tuple[str, str] | None:
    names = ("chromium", "chromium-browser", "google-chrome")
    browser = next((shutil.which(n) for n in names if shutil.which(n)), None)
    driver = shutil.which("chromedriver")
    if not browser or not driver or importlib.util.find_spec("selenium") is None:
        return None
    return browser, driver


@pytest.fixture(scope="module")
def chrome():
    found = _browser()
    if found is None:
        why = (
            "needs chromium, chromium-driver and selenium "
            "(apt-get install chromium chromium-driver; the [screenshots] extra)"
        )
        if os.environ.get("CI"):
            pytest.fail(f"in CI: {why}")
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(found[1]), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _build(site: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(REPO / "mkdocs.yml"), "-d", str(site)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def site_url(tmp_path_factory):
    """The built site, served on 127.0.0.1 at a free port for as long as the tests need it."""
    site = tmp_path_factory.mktemp("site")
    _build(site)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def search(driver, url: str, query: str, timeout: float = 30.0) -> tuple[str, list[str]]:
    """Type `query` into the site's search box: (the result count line, the results' page titles)."""
    from selenium.webdriver.common.by import By

    driver.get(url)
    box = driver.find_element(By.CSS_SELECTOR, "input.md-search__input")
    box.click()
    box.send_keys(query)
    deadline = time.monotonic() + timeout
    meta, titles = "", []
    while time.monotonic() < deadline:
        meta = driver.find_element(By.CSS_SELECTOR, ".md-search-result__meta").text.strip()
        titles = [t.text.strip() for t in driver.find_elements(By.CSS_SELECTOR, ".md-search-result__item > a h1")]
        if titles:
            return meta, titles
        time.sleep(0.25)
    return meta, titles


@pytest.mark.parametrize("query, page", QUERIES.items())
def test_search_finds_pages(chrome, site_url, query, page):
    meta, titles = search(chrome, site_url, query)
    assert "Initializing" not in meta, f"search never started: {meta!r}"
    assert titles, f"no results for {query!r}: {meta!r}"
    assert page in titles, f"{query!r} found {titles}, not {page!r}"


def test_a_site_without_its_search_index_finds_nothing(chrome, tmp_path):
    """The check above can fail: the same site without search_index.json gives no results."""
    site = tmp_path / "site"
    _build(site)
    (site / "search" / "search_index.json").unlink()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        meta, titles = search(chrome, f"http://127.0.0.1:{server.server_address[1]}/", "hyperband", timeout=5.0)
    finally:
        server.shutdown()
        server.server_close()
    assert not titles and ("Initializing" in meta or not meta), (meta, titles)
