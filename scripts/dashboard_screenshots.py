"""Screenshots of a small sweep's dashboards, taken once the charts have drawn and checked.

It trains a three-job sweep over lr on names.txt (a few thousand steps each), serves it
with TensorBoard on 127.0.0.1, opens it in headless Chromium through Selenium and
photographs, at 1536x1000 (a common laptop width: HParams then shows five ticked columns and
the val loss) and TensorBoard's default settings:

  time_series.png   Time Series as it opens: the val cards first (loss/val and loss/val_best,
                    each line ending on its run's true value), then the other curves
  hparams.png       HParams: one row per job, the swept key lr and each job's status
                    ticked, val loss the first metric

A picture is written only when it is not empty: the script waits until the page has stopped
changing, then checks that the run lines are on the Time Series (coloured pixels) and its
first card is loss/val, and that the HParams page names the val loss metric and the status
and has rows. An empty or unfinished page ends the
script with one line and exit code 1, and nothing is written.

The pictures go to --out (default runs/screenshots/), never over existing files unless
--overwrite is given, so the documentation's pictures (docs/img/) change only when asked:

    python scripts/dashboard_screenshots.py                          # train, photograph into runs/screenshots/
    python scripts/dashboard_screenshots.py --sweep-dir runs/lr_demo  # keep the sweep (trained if missing)
    # retake the docs' pictures:
    python scripts/dashboard_screenshots.py --sweep-dir runs/lr_demo --out docs/img --overwrite

Needs Chromium, its driver and Selenium; the browser only ever talks to the local TensorBoard:
    apt-get install -y chromium chromium-driver && pip install -e ".[screenshots]"

From a checkout only: scripts/ is not part of the installed package (not in the wheel);
run it from the repository's root with the package installed (pip install -e .).
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from wavenet_harness.base.errors import exit_with_error
from wavenet_harness.base.metrics import VAL_LOSS

REPO = Path(__file__).resolve().parents[1]
PROG = "dashboard_screenshots"
SWEEP = [
    "lr=0.03,0.1,0.3",
    "max_steps=3000",
    "eval_interval=250",
    "checkpoint_interval=0",
    "threads=1",
    "log.progress=false",
    "log.samples=3",
]
WINDOW = (1536, 1000)
# The tag of the first card of Time Series's card groups (pinned cards are elsewhere).
FIRST_CARD_JS = """
const tag = document.querySelector('metrics-card-groups-component card-view tb-truncated-path.tag');
return tag ? tag.getAttribute('title') : null;
"""
# A Time Series page with its run lines drawn has at least this share of coloured pixels
# (measured: about 1% with three runs; an empty page's grey axes and text have none).
MIN_COLOURED = 0.002
SETTLE_SECONDS = 2.0  # the page must look the same for this long before it is photographed
TIMEOUT_SECONDS = 90.0


class ScreenshotError(Exception):
    """Something that keeps the pictures from being true; told as one line."""


def fail(message: str) -> None:
    exit_with_error(message, PROG, code=1)


def train_sweep(sweep_dir: Path) -> None:
    command = ["wavenet-train", "--multirun", *SWEEP, f"hydra.sweep.dir={sweep_dir}"]
    print("training:", " ".join(command), flush=True)
    subprocess.run(command, cwd=REPO, check=True)


def start_tensorboard(logdir: Path) -> tuple[subprocess.Popen, str]:
    """TensorBoard on a free loopback port; (process, base URL) once it lists the runs."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tensorboard.main",
            "--logdir",
            str(logdir),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--load_fast=false",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None  # stdout=PIPE
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)/", line or "")
        if match:
            url = match.group(1)
            while time.monotonic() < deadline:  # the runs are loaded in the background
                if len(urllib.request.urlopen(f"{url}/data/runs", timeout=10).read()) > 2:
                    return process, url
                time.sleep(0.5)
        if not line and process.poll() is not None:
            break
    process.kill()
    raise ScreenshotError("tensorboard did not start")


def open_browser():
    """Headless Chromium driven by Selenium, at the pictures' window size."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise ScreenshotError('Selenium is not installed: pip install -e ".[screenshots]"') from None
    browser = next(
        (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
    )
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        raise ScreenshotError("Chromium or its driver is missing: apt-get install -y chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(flag)
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    # The window's size includes the browser's own frame: grow it until the page itself
    # (what a screenshot holds) is WINDOW.
    inner = chrome.execute_script("return [window.innerWidth, window.innerHeight]")
    chrome.set_window_size(2 * WINDOW[0] - inner[0], 2 * WINDOW[1] - inner[1])
    return chrome


def coloured_share(png: bytes) -> float:
    """The share of clearly coloured pixels: run lines are; axes, grid and text are grey."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        hsv = image.convert("RGB").convert("HSV")
        pixels = list(hsv.get_flattened_data() if hasattr(hsv, "get_flattened_data") else hsv.getdata())
    return sum(1 for _, saturation, value in pixels if saturation > 90 and value > 60) / max(1, len(pixels))


def settled_screenshot(driver, ready) -> bytes:
    """A screenshot taken once `ready(png)` holds and the page has not changed for SETTLE_SECONDS."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        png = driver.get_screenshot_as_png()
        if png != last:
            last, since = png, time.monotonic()
        elif time.monotonic() - since >= SETTLE_SECONDS and ready(png):
            return png
        time.sleep(0.5)
    raise ScreenshotError(
        f"{driver.current_url} stayed empty or unfinished for {TIMEOUT_SECONDS:.0f} s; nothing written"
    )


def page_text(driver) -> str:
    """All text on the page, shadow DOMs included (TensorBoard's HParams page is Polymer)."""
    return driver.execute_script("""
        const parts = [document.body.innerText || ''];
        const walk = (root) => {
          for (const node of root.querySelectorAll('*')) {
            if (node.shadowRoot) {
              parts.push(node.shadowRoot.textContent || '');
              walk(node.shadowRoot);
            }
          }
        };
        walk(document);
        return parts.join(' ');
    """)


def squeezed(text: str) -> str:
    """Text without its white space: TensorBoard breaks a tag's name into lines ('loss', '/val')."""
    return re.sub(r"\s+", "", text)


def time_series(driver, url: str) -> bytes:
    """Time Series as it opens, at TensorBoard's default settings (Settings pane closed)."""
    driver.get(f"{url}/#timeseries")
    close_settings(driver)
    png = settled_screenshot(driver, lambda png: coloured_share(png) >= MIN_COLOURED)
    first = driver.execute_script(FIRST_CARD_JS)
    if first != VAL_LOSS:
        raise ScreenshotError(f"the Time Series page opens on {first!r}, not on {VAL_LOSS}")
    return png


def close_settings(driver) -> None:
    """Time Series opens its Settings pane on wide windows; the picture is of the charts."""
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        buttons = driver.find_elements(By.CSS_SELECTOR, 'button[aria-label="Close side pane"]')
        if buttons:
            buttons[0].click()
            return
        time.sleep(0.5)


def hparams(driver, url: str, jobs: list[str]) -> bytes:
    """The HParams table, once it names the val loss metric and the status and has a row for
    every job."""
    driver.get(f"{url}/#hparams")

    def ready(png: bytes) -> bool:
        text = squeezed(page_text(driver))
        return VAL_LOSS in text and "status" in text and all(f"{job}/tb" in text for job in jobs)

    return settled_screenshot(driver, ready)


def save(png: bytes, path: Path) -> None:
    """A palette PNG: a dashboard has few colours, so this keeps it small for the repository."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


def photograph(sweep_dir: Path, out: Path) -> None:
    jobs = sorted(p.name for p in sweep_dir.iterdir() if (p / "tb").is_dir())
    server, url = start_tensorboard(sweep_dir)
    driver = None
    try:
        driver = open_browser()
        pictures = {"time_series.png": time_series(driver, url), "hparams.png": hparams(driver, url, jobs)}
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        server.wait(timeout=30)
    out.mkdir(parents=True, exist_ok=True)
    for name, png in pictures.items():  # every picture passed its checks: now write them
        save(png, out / name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sweep-dir",
        type=Path,
        help="the sweep to photograph, trained first if it does not exist (default: a new one in a temporary folder)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("runs/screenshots"), help="the folder for the PNGs (default runs/screenshots)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace pictures already in --out")
    args = parser.parse_args(argv)
    taken = [args.out / name for name in ("time_series.png", "hparams.png") if (args.out / name).exists()]
    if taken and not args.overwrite:
        fail(f"{taken[0]} exists; choose another --out, or give --overwrite to replace it")
    try:
        with tempfile.TemporaryDirectory() as scratch:
            sweep_dir = args.sweep_dir or Path(scratch) / "lr_sweep"
            if not sweep_dir.exists():
                train_sweep(sweep_dir)
            photograph(sweep_dir, args.out)
    except ScreenshotError as err:
        fail(str(err))
    except subprocess.CalledProcessError as err:
        fail(f"training the sweep failed (exit code {err.returncode})")


if __name__ == "__main__":
    main()
