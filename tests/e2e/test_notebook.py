"""examples/quickstart.ipynb runs top to bottom with a real Jupyter kernel (shortened through its
`parameters` cell), and docs/quickstart.md is that notebook as scripts/render_notebook.py renders it."""

from __future__ import annotations

import importlib.util
import json
import shutil

import pytest

from helpers import REPO

SCRIPT = REPO / "scripts" / "render_notebook.py"
STEPS = 40


def render_notebook():
    spec = importlib.util.spec_from_file_location("render_notebook", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docs_page_is_the_notebook_as_saved():
    nbformat = pytest.importorskip("nbformat")
    script = render_notebook()
    notebook = nbformat.read(script.NOTEBOOK, as_version=4)
    assert [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])], "no cell tagged parameters"
    assert not [o for c in notebook.cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    markdown, images = script.render(notebook)
    assert script.out_of_date(markdown, images) == [], "run python scripts/render_notebook.py"
    assert images and "wh.train(" in markdown and "wh.sweep(" in markdown


def test_the_notebook_runs_with_a_real_kernel(tmp_path, names_path):
    pytest.importorskip("nbclient", reason='the [test] extra has nbclient and ipykernel: pip install -e ".[test]"')
    (tmp_path / "data").mkdir()
    shutil.copy(names_path, tmp_path / "data" / "names.txt")  # what the notebook would download
    nb = render_notebook().execute(REPO / "examples" / "quickstart.ipynb", tmp_path, {"MAX_STEPS": STEPS})
    outputs = [(cell.source, output) for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for _, o in outputs if o["output_type"] == "error"]  # nbclient raised already; and none allowed
    train_cell = next(o for source, o in outputs if source.startswith("run = wh.train(") and o.get("name") == "stderr")
    assert f"{STEPS}/{STEPS}" in train_cell["text"] and "steps/s" in train_cell["text"]  # the progress line, in place
    assert "\r" not in train_cell["text"]
    sweep_out = "".join(o.get("text", "") for source, o in outputs if source.startswith("sweep = wh.sweep("))
    assert "sweep: 2 jobs: 2 ok" in sweep_out
    assert any("image/png" in o.get("data", {}) for source, o in outputs if source.startswith("run.plot()"))
    mistake = "".join(o.get("text", "") for source, o in outputs if "block_size=6" in source)
    assert mistake.startswith("ConfigError: block_size=6 cannot be split by a depth-3 tree of pairs")
    runs = sorted(tmp_path.glob("runs/*/*/metrics.json")) + sorted(tmp_path.glob("runs/multirun/*/*/*/metrics.json"))
    assert len(runs) == 3 and all(json.loads(p.read_text())["steps"] == STEPS for p in runs)
