"""What a person sees first, in a real browser: TensorBoard's pages over a tiny grid sweep and a
tiny search, opened in headless Chromium (Selenium) at 1400x1000 and TensorBoard's default
settings, the way scripts/dashboard_screenshots.py opens them.

  Time Series   the first card is a val card, on the first screen, and at the default
                smoothing (0.6) each run's smoothed value there is its true value, so the
                order read off the card is the true order; the sweep's last screen's
                address opens with the val cards pinned
  HParams       over a search: lr and the status are ticked columns, and each row shows its
                status (ok, pruned)

Needs chromium, chromium-driver and Selenium: skipped without them, failed under CI (CI set).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import time

import pytest
from tensorboard_server import tensorboard_server, tiny_search, tiny_sweep

from helpers import REPO
from wavenet_harness.base.metrics import PINNED_TAGS, VAL_BEST, VAL_LOSS, pinned_url

TIMEOUT = 90.0
# Every scalar card: its tag, where it is, whether it is pinned, its data table (header, rows).
CARDS_JS = """
const cards = [];
for (const card of document.querySelectorAll('card-view')) {
  const tag = card.querySelector('tb-truncated-path.tag');
  if (!tag) continue;
  const box = card.getBoundingClientRect();
  const head = [...card.querySelectorAll('tb-data-table-header-cell')].map(c => c.innerText.trim());
  const rows = [...card.querySelectorAll('tb-data-table-content-row')].map(
      row => [...row.querySelectorAll('tb-data-table-content-cell')].map(c => c.innerText.trim()));
  cards.push({tag: tag.getAttribute('title'), top: box.top, left: box.left,
              pinned: !!card.closest('metrics-pinned-view-component'), head: head, rows: rows});
}
return cards;
"""
# The HParams table's cells (Polymer: inside shadow roots): [is a header, text, left, right].
TABLE_JS = """
const out = [];
const walk = (root) => {
  for (const n of root.querySelectorAll('.table-cell')) {
    const box = n.getBoundingClientRect();
    if (box.width > 0) out.push([n.classList.contains('table-header'), n.textContent.trim(), box.left, box.right]);
  }
  for (const n of root.querySelectorAll('*')) if (n.shadowRoot) walk(n.shadowRoot);
};
walk(document);
return out;
"""
# Untick one value of the status column's filter in the left pane; the label clicked, or null.
UNTICK_JS = """
let clicked = null;
const walk = (root) => {
  for (const box of root.querySelectorAll('paper-checkbox')) {
    if (!clicked && box.textContent.trim() === arguments[0]) { box.click(); clicked = arguments[0]; }
  }
  for (const n of root.querySelectorAll('*')) if (n.shadowRoot) walk(n.shadowRoot);
};
walk(document);
return clicked;
"""


def _shots():
    script = REPO / "scripts" / "dashboard_screenshots.py"
    spec = importlib.util.spec_from_file_location("dashboard_screenshots", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def browser():
    has_browser = any(shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome"))
    ready = has_browser and shutil.which("chromedriver") and importlib.util.find_spec("selenium") is not None
    if not ready:
        why = "needs chromium, chromium-driver and selenium (apt-get install chromium chromium-driver; [screenshots])"
        if os.environ.get("CI"):
            pytest.fail(f"in CI: {why}")
        pytest.skip(why)
    driver = _shots().open_browser()
    yield driver
    driver.quit()


def _wait_for(driver, script: str, done, what: str):
    """The script's result once `done(result)` holds, or the test fails naming `what`."""
    deadline = time.monotonic() + TIMEOUT
    result = None
    while time.monotonic() < deadline:
        result = driver.execute_script(script)
        if done(result):
            return result
        time.sleep(0.5)
    pytest.fail(f"{what} never showed; last seen: {result!r}"[:2000])


def _drawn(cards: list[dict], runs: int) -> bool:
    return len(cards) >= 3 and all(len(card["rows"]) >= runs for card in cards[:2])


def _values(card: dict) -> dict[str, tuple[float, float]]:
    """Run -> (smoothed, value) at the card's last step, as its data table shows them."""
    head = card["head"]
    run, smoothed, value = head.index("Run"), head.index("Smoothed"), head.index("Value")
    return {row[run]: (float(row[smoothed]), float(row[value])) for row in card["rows"]}


def test_time_series_opens_on_a_val_card_that_ranks_the_runs_truly(browser, tmp_path):
    sweep = tiny_sweep(tmp_path)
    with tensorboard_server(sweep, 2) as url:
        browser.get(f"{url}/#timeseries")  # TensorBoard's defaults: nothing pinned, smoothing 0.6
        cards = _wait_for(browser, CARDS_JS, lambda cards: _drawn(cards, 2), "the Time Series cards")
        height = browser.execute_script("return window.innerHeight")
        first = min((card for card in cards if not card["pinned"]), key=lambda card: (card["top"], card["left"]))
        assert first["tag"] == VAL_LOSS and first["top"] < height / 2, first
        on_screen = {card["tag"] for card in cards if card["top"] < height}
        assert {VAL_LOSS, VAL_BEST} <= on_screen
        for card in cards:
            if card["tag"] in (VAL_LOSS, VAL_BEST):
                values = _values(card)
                assert all(abs(smoothed - value) <= 1.5e-4 for smoothed, value in values.values()), card
                by_smoothed = sorted(values, key=lambda run: values[run][0])
                assert by_smoothed == sorted(values, key=lambda run: values[run][1])

        browser.get(pinned_url(url))  # the address the sweep's last screen prints: val loss pinned
        pinned = _wait_for(
            browser, CARDS_JS, lambda cards: sum(c["pinned"] for c in cards) == len(PINNED_TAGS), "the pinned val card"
        )
        assert [card["tag"] for card in pinned if card["pinned"]] == list(PINNED_TAGS)


def test_hparams_over_a_search_ticks_lr_and_shows_each_trials_status(browser, tmp_path):
    search = tiny_search(tmp_path)
    with tensorboard_server(search, 3) as url:
        browser.get(f"{url}/#hparams")

        def complete(cells) -> bool:
            texts = [text for _, text, _, _ in cells]
            return "status" in texts and VAL_LOSS in texts and "pruned" in texts and texts.count("ok") >= 1

        cells = _wait_for(browser, TABLE_JS, complete, "the HParams table with its status column")
        headers = [text for header, text, _, _ in sorted(cells, key=lambda c: c[2]) if header]
        assert headers[0] == "Trial ID" and {"lr", "n_hidden", "status"} <= set(headers)
        assert headers.index("status") < headers.index(VAL_LOSS)  # among the ticked columns, before the metrics
        val_right = next(right for header, text, _, right in cells if header and text == VAL_LOSS)
        assert val_right <= browser.execute_script("return window.innerWidth")  # on the first screen
        assert {"ok", "pruned"} <= _statuses(cells)
        trial_ids = [text for header, text, left, _ in cells if not header and "/tb/" in text]
        assert trial_ids and all(text.split("/tb/")[1].startswith("lr=") for text in trial_ids)  # lr leads the name

        assert browser.execute_script(UNTICK_JS, "pruned") == "pruned"  # the status filter hides pruned rows
        _wait_for(
            browser,
            TABLE_JS,
            lambda cells: "pruned" not in _statuses(cells) and "ok" in _statuses(cells),
            "the table without its pruned rows",
        )


def _statuses(cells: list) -> set[str]:
    """The values shown in the HParams table's status column."""
    left = next((left for header, text, left, _ in cells if header and text == "status"), None)
    return {text for header, text, x, _ in cells if not header and left is not None and abs(x - left) < 2}
