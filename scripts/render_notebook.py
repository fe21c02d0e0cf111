"""docs/quickstart.md: examples/quickstart.ipynb as a page of the documentation site, outputs included.

    python scripts/render_notebook.py              # rewrite docs/quickstart.md from the notebook as saved
    python scripts/render_notebook.py --execute    # first run the notebook and save its outputs in it
    python scripts/render_notebook.py --check      # exit 1, writing nothing, if the page is out of date

The page is the notebook's cells in order: markdown as written, code as python blocks, then what
each cell showed as the notebook saved it: text (a line rewritten with carriage returns, like
the progress bar, as its last state), DataFrames as their HTML tables, pictures as files in
docs/img/quickstart/.
--execute runs the notebook with a real Jupyter kernel (nbclient, ipykernel: the [test] extra)
on this checkout's package, in a scratch folder (names.txt taken from data/ when it is there),
and fails on any cell that raises. tests/e2e/test_notebook.py checks the page against the
notebook and runs the notebook, shortened through its `parameters` cell, with `execute()`.

From a checkout only: scripts/ is not part of the installed package (not in the wheel);
run it from the repository's root with the package installed (pip install -e ".[test]").
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "examples" / "quickstart.ipynb"
PAGE = REPO / "docs" / "quickstart.md"
IMAGES = REPO / "docs" / "img" / "quickstart"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
HEADER = (
    "<!-- Generated from examples/quickstart.ipynb by scripts/render_notebook.py: edit the notebook, "
    "then run the script. -->\n"
)
NOTE = (
    "> This page is the notebook `examples/quickstart.ipynb` with the outputs of its last run "
    "(`python scripts/render_notebook.py --execute`, in an empty folder). "
    "Open the notebook in Jupyter to run it.\n"
)


def execute(notebook: Path, folder: Path, parameters: dict[str, Any] | None = None, timeout: int = 900):
    """The notebook run top to bottom by a python3 kernel in `folder`, on this checkout's package;
    `parameters` go in a cell after the one tagged `parameters` (as papermill does). Raises
    nbclient's CellExecutionError for a cell that raises."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    if parameters:
        at = next(i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", []))
        source = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
        nb.cells.insert(at + 1, nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]}))
    with _package_path():
        NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
        ).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # when each cell ran: noise in a saved notebook
        if cell.cell_type == "code":
            cell.outputs = _tidy_streams(cell.outputs)
    return nb


def _tidy_streams(outputs: list) -> list:
    """Consecutive writes to one stream as one output, each line in its last state (as a
    notebook front end shows and saves them); stdout and stderr keep their order."""
    tidy: list = []
    for output in outputs:
        if (
            output["output_type"] == "stream"
            and tidy
            and tidy[-1]["output_type"] == "stream"
            and tidy[-1]["name"] == output["name"]
        ):
            tidy[-1]["text"] += output["text"]
        else:
            tidy.append(output)
    for output in tidy:
        if output["output_type"] == "stream":
            output["text"] = _last_states(output["text"])
    return tidy


@contextlib.contextmanager
def _package_path() -> Iterator[None]:
    """The kernel imports this checkout's wavenet_harness, whatever else is installed."""
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), before]))
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


def render(nb: Any) -> tuple[str, dict[str, bytes]]:
    """The page's markdown and its pictures (file name -> PNG bytes)."""
    parts, images = [HEADER], dict[str, bytes]()
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown":  # links to the docs, from examples/, made links within the site
            parts.append(cell["source"].strip().replace("](../docs/", "](") + "\n")
            if index == 0:
                parts.append(NOTE)
        elif cell["cell_type"] == "code":
            parts.append(f"```python\n{cell['source'].strip()}\n```\n")
            parts += _outputs(cell, index, images)
    return "\n".join(parts), images


def _outputs(cell: Any, index: int, images: dict[str, bytes]) -> list[str]:
    """A code cell's outputs: runs of text as one text block, pictures as image links."""
    parts, text = [], []
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if output["output_type"] == "stream":
            text.append(_last_states(output["text"]))
        elif "image/png" in data:
            name = f"cell{index}-{len(images) + 1}.png"
            images[name] = base64.b64decode(data["image/png"])
            parts += _text_block(text) + [f"![output of the cell above](img/quickstart/{name})\n"]
            text = []
        elif "<table" in "".join(data.get("text/html", "")):  # a DataFrame: the site shows its HTML table
            parts += _text_block(text) + ["".join(data["text/html"]).strip() + "\n"]
            text = []
        elif "text/plain" in data:
            text.append(_last_states("".join(data["text/plain"])) + "\n")
        elif output["output_type"] == "error":
            text.append(ANSI.sub("", "\n".join(output["traceback"])) + "\n")
    return parts + _text_block(text)


def _last_states(text: str) -> str:
    """Text as a terminal or a notebook shows it: each line's last state after carriage returns."""
    lines = ANSI.sub("", text).split("\n")
    return "\n".join(line.rsplit("\r", 1)[-1] for line in lines)


def _text_block(text: list[str]) -> list[str]:
    body = "".join(text).strip("\n")
    return [f"```text\n{body}\n```\n"] if body.strip() else []


def write(markdown: str, images: dict[str, bytes]) -> None:
    shutil.rmtree(IMAGES, ignore_errors=True)
    IMAGES.mkdir(parents=True)
    for name, png in images.items():
        (IMAGES / name).write_bytes(png)
    PAGE.write_text(markdown)


def out_of_date(markdown: str, images: dict[str, bytes]) -> list[str]:
    """What differs between the page on disk and `markdown`, `images`."""
    found = [] if PAGE.is_file() and PAGE.read_text() == markdown else [str(PAGE.relative_to(REPO))]
    on_disk = {p.name: p.read_bytes() for p in IMAGES.glob("*.png")} if IMAGES.is_dir() else {}
    found += [
        f"docs/img/quickstart/{name}"
        for name in sorted(set(on_disk) | set(images))
        if on_disk.get(name) != images.get(name)
    ]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="render_notebook", description=__doc__.splitlines()[0])
    parser.add_argument("--execute", action="store_true", help="run the notebook first and save its outputs in it")
    parser.add_argument("--check", action="store_true", help="exit 1, writing nothing, if the page is out of date")
    args = parser.parse_args(argv)
    import nbformat

    if args.execute:
        folder = Path(tempfile.gettempdir()) / "wavenet-quickstart"
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "data").mkdir(parents=True)
        if (REPO / "data" / "names.txt").is_file():
            shutil.copy(REPO / "data" / "names.txt", folder / "data" / "names.txt")
        nbformat.write(execute(NOTEBOOK, folder), NOTEBOOK)
    markdown, images = render(nbformat.read(NOTEBOOK, as_version=4))
    if args.check:
        stale = out_of_date(markdown, images)
        if stale:
            print(
                f"render_notebook: out of date: {', '.join(stale)}; run python scripts/render_notebook.py",
                file=sys.stderr,
            )
        return 1 if stale else 0
    write(markdown, images)
    return 0


if __name__ == "__main__":
    sys.exit(main())
