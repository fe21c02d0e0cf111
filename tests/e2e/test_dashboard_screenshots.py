"""scripts/dashboard_screenshots.py: its emptiness check, its refusal to overwrite, and (where
Chromium, its driver and Selenium are installed) real pictures of a real sweep."""

from __future__ import annotations

import importlib.util
import io
import shutil
import subprocess
import sys

import pytest
from PIL import Image, ImageDraw

from helpers import REPO, TINY_OVERRIDES, CliRunner, write_tiny_words

SCRIPT = REPO / "scripts" / "dashboard_screenshots.py"


def _script():
    spec = importlib.util.spec_from_file_location("dashboard_screenshots", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _png(lines: bool) -> bytes:
    """A dashboard-like picture: grey axes and text, and with `lines` three coloured run lines."""
    image = Image.new("RGB", (1400, 1000), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1400, 60), fill=(90, 90, 90))
    draw.line((100, 900, 1300, 900), fill=(120, 120, 120), width=2)
    if lines:
        for offset, colour in enumerate(((231, 41, 138), (23, 190, 207), (255, 127, 14))):
            draw.line((100, 300 + 40 * offset, 1300, 600 + 40 * offset), fill=colour, width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class StillDriver:
    """A browser whose page never changes: it shows `png` for ever."""

    current_url = "http://127.0.0.1:1/#timeseries"

    def __init__(self, png: bytes):
        self.png = png

    def get_screenshot_as_png(self) -> bytes:
        return self.png


def test_an_empty_chart_is_refused_and_a_drawn_one_accepted(monkeypatch):
    shots = _script()
    empty, drawn = _png(lines=False), _png(lines=True)
    assert shots.coloured_share(empty) < shots.MIN_COLOURED <= shots.coloured_share(drawn)
    monkeypatch.setattr(shots, "TIMEOUT_SECONDS", 3.0)
    monkeypatch.setattr(shots, "SETTLE_SECONDS", 0.5)
    ready = lambda png: shots.coloured_share(png) >= shots.MIN_COLOURED  # noqa: E731 (the script's own test)
    with pytest.raises(shots.ScreenshotError, match="stayed empty or unfinished"):
        shots.settled_screenshot(StillDriver(empty), ready)
    assert shots.settled_screenshot(StillDriver(drawn), ready) == drawn


def test_existing_pictures_are_kept_unless_overwrite_is_given(tmp_path):
    (tmp_path / "hparams.png").write_bytes(b"the committed picture")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--sweep-dir", str(tmp_path / "none"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"dashboard_screenshots: error: {tmp_path / 'hparams.png'} exists; choose another --out, "
        "or give --overwrite to replace it"
    ]
    assert (tmp_path / "hparams.png").read_bytes() == b"the committed picture"


def _browser_ready() -> bool:
    has_browser = any(shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome"))
    return has_browser and bool(shutil.which("chromedriver")) and importlib.util.find_spec("selenium") is not None


@pytest.mark.skipif(not _browser_ready(), reason="needs chromium, chromium-driver and selenium")
def test_pictures_of_a_real_sweep_are_drawn_and_checked(tmp_path):
    words = write_tiny_words(tmp_path)
    sweep = tmp_path / "sweep"
    trained = CliRunner()(
        ["--multirun", "lr=0.05,0.2", *TINY_OVERRIDES, f"data.path={words}", f"hydra.sweep.dir={sweep}"], cwd=tmp_path
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    out = tmp_path / "pictures"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--sweep-dir", str(sweep), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    shots = _script()
    for name in ("time_series.png", "hparams.png"):
        with Image.open(out / name) as image:
            assert image.size == shots.WINDOW
    assert shots.coloured_share((out / "time_series.png").read_bytes()) >= shots.MIN_COLOURED
