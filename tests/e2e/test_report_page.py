"""wavenet-report on a real grid and a real search side by side: 100 columns, the rerun line, the page.

One tiny grid (two jobs) and one tiny search (four trials, two of them pruned) are trained
once for the module, in runs/ of a scratch folder, as a user's runs/ holds them. The page
is opened in headless Chromium (Selenium, Debian's chromium and chromium-driver) to check
that its charts drew; without the browser that test is skipped, unless CI is set.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import shutil
import time

import pytest

from helpers import TINY_OVERRIDES, read_metrics, write_tiny_words
from wavenet_harness.base import extras
from wavenet_harness.tracking.report_table import wrapped_command

# The search: hier_optuna over n_hidden and lr (the other keys fixed), a random sampler whose
# seed 4 asks lr=1e-3, 8e-3, then two lr near 1e-6 that the median pruner stops at step 20.
SEARCH = [
    "hparams_search=hier_optuna",
    "block_size=8",
    "depth=2",
    "optim=sgd",
    "schedule=step",
    "hydra.sweeper.params.lr.low=1e-6",
    "hydra.sweeper.params.n_hidden.low=8",
    "hydra.sweeper.params.n_hidden.high=16",
    "hydra.sweeper.sampler.name=random",
    "hydra.sweeper.sampler.seed=4",
    "hydra.sweeper.n_trials=4",
    "hydra.sweeper.pruner.n_startup_trials=1",
    "hydra.sweeper.pruner.n_warmup_steps=0",
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, cli):
    """(the scratch folder, the grid's and the search's closing screens)."""
    home = tmp_path_factory.mktemp("glance")
    words = write_tiny_words(home)
    grid = cli(
        ["--multirun", *TINY_OVERRIDES, f"data.path={words}", "lr=0.1,0.3", "hydra.sweep.dir=runs/grid"], cwd=home
    )
    assert grid.returncode == 0, grid.stderr[-2000:]
    tiny = [o for o in TINY_OVERRIDES if not o.startswith("n_hidden=")]  # searched
    search = cli(["--multirun", *tiny, f"data.path={words}", *SEARCH, "hydra.sweep.dir=runs/search"], cwd=home)
    assert search.returncode == 0, search.stderr[-2000:]
    statuses = sorted(read_metrics(home / "runs" / "search" / str(n))["status"] for n in range(4))
    assert statuses == ["ok", "ok", "pruned", "pruned"]
    return home, grid.stdout, search.stdout


def test_closing_screens_fit_100_columns(runs):
    _, grid, search = runs
    for screen in (grid, search):
        lines = screen.splitlines()
        first = next(i for i, line in enumerate(lines) if line.startswith(("best trial", "sweep:")))
        closing = lines[first:]  # the search's best trial and caveat, then the sweep's screen
        assert closing and max(len(line) for line in closing) <= 100, screen
        assert closing[-1].strip().startswith(("wavenet-report", "wavenet-study"))


def test_report_on_a_grid_and_a_search_reads_at_100_columns(runs, cli):
    home, _, _ = runs
    done = cli(["runs"], cwd=home, entry="wavenet-report")  # piped: 100 columns
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100, done.stdout
    assert "2 runs in grid" in lines and "4 runs in search" in lines
    words = set(done.stdout.split())
    assert not {"storage", "study", "trial", "hparams"} & words  # the search's bookkeeping is no column
    table = json.loads(cli(["runs", "--json", "-"], cwd=home, entry="wavenet-report").stdout)
    for row in table["jobs"]:  # each value whole on its job's line
        name = row["job"].split("/")[-1]
        assert any(line.startswith(f" {name} ") and f"{row['val_loss']:.4f}" in line for line in lines), row
    pruned = [row for row in table["jobs"] if row["status"] == "pruned"]
    assert len(pruned) == 2 and all(
        row["val_loss"] == read_metrics(home / "runs" / row["job"])["val_loss"] for row in pruned
    )
    assert all(row["val_loss"] is not None for row in pruned)


def test_a_trials_rerun_line_is_a_plain_run_that_reproduces_it(runs, cli):
    home, _, _ = runs
    printed = cli(["runs/search"], cwd=home, entry="wavenet-report").stdout
    best = json.loads(cli(["runs/search", "--json", "-"], cwd=home, entry="wavenet-report").stdout)["best"]
    assert wrapped_command(best["command"]) in printed  # printed in lines that paste as the same command
    argv = shlex.split(best["command"])
    assert argv[0] == "wavenet-train" and not [a for a in argv if "optuna" in a or a.startswith("hparams_search")]
    rerun = cli([*argv[1:], "hydra.run.dir=rerun"], cwd=home)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "warning" not in rerun.stderr.lower() and "note:" not in rerun.stderr
    trial = home / "runs" / "search" / best["job"]
    assert read_metrics(home / "rerun")["val_loss"] == read_metrics(trial)["val_loss"]
    import yaml

    ran = yaml.safe_load((home / "rerun" / ".hydra" / "config.yaml").read_text())
    expected = yaml.safe_load((trial / ".hydra" / "config.yaml").read_text())
    assert ran.pop("optuna")["storage"] == "" and expected.pop("optuna")["trial"] == int(best["job"])
    assert ran == expected


def test_the_html_page_needs_its_extra_and_an_existing_folder(tmp_path, cli, monkeypatch):
    for argv, expected in [
        ([str(tmp_path), "--html", str(tmp_path / "no" / "page.html")], "the folder"),
        ([str(tmp_path), "--html", str(tmp_path / "page.html")], "pip install"),
    ]:
        if expected == "pip install":
            monkeypatch.setattr(extras, "installed", lambda module: module != "plotly")
        code, out, err = cli.in_process("wavenet-report", argv)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
        assert expected in err and err.startswith("wavenet-report: error: --html")
    assert "[html]" in err and not (tmp_path / "page.html").exists()


def _chrome():
    names = ("chromium", "chromium-browser", "google-chrome")
    browser = next((shutil.which(n) for n in names if shutil.which(n)), None)
    if not browser or not shutil.which("chromedriver") or importlib.util.find_spec("selenium") is None:
        why = "needs chromium, chromium-driver and selenium (apt-get install chromium chromium-driver; [screenshots])"
        if os.environ.get("CI"):
            pytest.fail(f"in CI: {why}")
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--window-size=1200,1000",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


DRAWN = """
const plots = {};
for (const div of document.querySelectorAll('div.js-plotly-plot')) {
  plots[div.id] = {svg: div.querySelectorAll('svg.main-svg').length,
                   lines: div.querySelectorAll('.scatterlayer path.js-line').length,
                   bars: div.querySelectorAll('.barlayer path').length,
                   axes: div.querySelectorAll('.parcoords .y-axis').length,
                   canvas: Array.from(div.querySelectorAll('canvas')).filter(c => c.width > 0 && c.height > 0).length};
}
return plots;
"""


def test_the_page_draws_its_charts_offline_in_a_browser(runs, cli):
    pytest.importorskip("plotly")
    home, _, _ = runs
    done = cli(["runs/search", "--html", "search.html"], cwd=home, entry="wavenet-report")
    assert done.returncode == 0, done.stderr
    text = (home / "search.html").read_text()
    for part in (
        "Runs, best val loss first",
        "pruned",
        "Parameter importances",
        "read them as a hint",
        "Rerun it as one plain run",
        "n_hidden: ",
    ):
        assert part in text, part
    driver = _chrome()
    try:
        driver.get((home / "search.html").as_uri())
        deadline = time.monotonic() + 60
        while True:
            plots = driver.execute_script(DRAWN)
            drawn = (
                plots.get("curves", {}).get("lines", 0) >= 2
                and plots.get("importances", {}).get("bars", 0) >= 1
                and plots.get("parallel", {}).get("canvas", 0) >= 1
                and plots["parallel"]["axes"] >= 3
            )
            if drawn or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        fetched = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    finally:
        driver.quit()
    assert drawn, plots
    assert fetched == []  # nothing from the network or beside the file: plotly.js is inline
    assert all(plot["svg"] >= 1 for plot in plots.values())
