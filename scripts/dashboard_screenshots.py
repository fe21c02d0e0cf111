"""Screenshots of a small sweep's TensorBoard dashboards, for the README (docs/img/*.png).

It trains a three-job sweep over lr on names.txt (a few thousand steps each), serves it
with TensorBoard on 127.0.0.1, and photographs two dashboards with headless Chromium:

  docs/img/time_series.png   Time Series: the loss curves (first on the page) of the three jobs
  docs/img/hparams.png       HParams: one row per job, led by the swept key lr

Chromium comes from Debian's packages (`apt-get update && apt-get install -y chromium`);
it only ever talks to the local TensorBoard. Rerunning the script refreshes the pictures.

    python scripts/dashboard_screenshots.py                     # train the sweep, then photograph
    python scripts/dashboard_screenshots.py --sweep-dir DIR     # keep the sweep in DIR (trained if missing)
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SWEEP = ["lr=0.03,0.1,0.3", "max_steps=3000", "eval_interval=250", "checkpoint_interval=0", "threads=1",
         "log.progress=false", "log.samples=3"]
# What each picture shows: TensorBoard's page (its URL fragment) and the window size.
PAGES = {
    "time_series.png": ("#timeseries", (1400, 1000)),
    "hparams.png": ("#hparams", (1800, 600)),
}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--virtual-time-budget=60000", "--run-all-compositor-stages-before-draw"]


def train_sweep(sweep_dir: Path) -> None:
    command = ["wavenet-train", "--multirun", *SWEEP, f"hydra.sweep.dir={sweep_dir}"]
    print("training:", " ".join(command), flush=True)
    subprocess.run(command, cwd=REPO, check=True)


def start_tensorboard(logdir: Path) -> tuple[subprocess.Popen, str]:
    """TensorBoard on a free loopback port; (process, base URL) once it answers."""
    process = subprocess.Popen(
        ["tensorboard", "--logdir", str(logdir), "--host", "127.0.0.1", "--port", "0", "--load_fast=false"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
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
    raise SystemExit("dashboard_screenshots: error: tensorboard did not start")


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return name
    raise SystemExit("dashboard_screenshots: error: no Chromium; install it with: apt-get update && apt-get install -y chromium")


def screenshot(url: str, size: tuple[int, int], out: Path) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
             f"--screenshot={out}", url],
            check=True, capture_output=True, timeout=180,
        )
    shrink(out)
    print(f"wrote {out.relative_to(REPO) if out.is_relative_to(REPO) else out} ({out.stat().st_size // 1024} KB)")


def shrink(path: Path) -> None:
    """A palette PNG: a dashboard has few colours, so this keeps it small for the repository."""
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep-dir", type=Path, help="the sweep to photograph, trained first if it does not exist "
                                                       "(default: a new one in a temporary folder)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img", help="where the PNGs go (default docs/img)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        sweep_dir = args.sweep_dir or Path(scratch) / "lr_sweep"
        if not sweep_dir.exists():
            train_sweep(sweep_dir)
        args.out.mkdir(parents=True, exist_ok=True)
        server, url = start_tensorboard(sweep_dir)
        try:
            for name, (fragment, size) in PAGES.items():
                screenshot(f"{url}/{fragment}", size, args.out / name)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
