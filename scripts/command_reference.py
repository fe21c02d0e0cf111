"""docs/commands.md, the command reference: every console script's --help as it prints it.

    python scripts/command_reference.py            # rewrite docs/commands.md
    python scripts/command_reference.py --check    # exit 1, writing nothing, if it is out of date

The console scripts are pyproject.toml's [project.scripts]. Each one's --help is taken from
its entry point run in a subprocess on this checkout's package (PYTHONPATH set to the
checkout, whatever else is installed), with COLUMNS=80 so that argparse wraps alike in any
terminal. argparse's layout changes between Python versions, so the page names the version
that wrote it. tests/e2e/test_command_reference.py compares the page with the live output.

From a checkout only: scripts/ is not part of the installed package (not in the wheel);
run it from the repository's root with the package installed (pip install -e .).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

from wavenet_harness.base.errors import exit_with_error

PROG = "command_reference"
REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "commands.md"
COLUMNS = "80"
RUN_ENTRY = "import importlib, sys; sys.argv[0] = {name!r}; importlib.import_module({module!r}).{function}()"


def console_scripts(pyproject: Path = REPO / "pyproject.toml") -> dict[str, str]:
    """name -> "module:function", in pyproject.toml's order (read without tomllib: Python 3.10 has none)."""
    section = re.search(r"^\[project\.scripts\]\s*$(.*?)(?=^\[|\Z)", pyproject.read_text(), re.M | re.S)
    if not section:
        exit_with_error("pyproject.toml has no [project.scripts]", PROG, code=1)
    return dict(re.findall(r'^\s*([\w.-]+)\s*=\s*"([\w.]+:\w+)"', section.group(1), re.M))


def help_text(name: str, entry: str) -> str:
    """What `<name> --help` prints, run from this checkout's package."""
    module, _, function = entry.partition(":")
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": COLUMNS, "HYDRA_FULL_ERROR": "0"}
    done = subprocess.run(
        [sys.executable, "-c", RUN_ENTRY.format(name=name, module=module, function=function), "--help"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        exit_with_error(f"{name} --help exited with {done.returncode}: {last}", PROG, code=1)
    return done.stdout.rstrip() + "\n"


def python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def render() -> str:
    scripts = console_scripts()
    lines = [
        "# Command reference",
        "",
        "Every console script's `--help`, as it prints it. This page is written by",
        "`scripts/command_reference.py` from the scripts themselves (argparse's layout as of",
        f"Python {python_version()}, {COLUMNS} columns), and `tests/e2e/test_command_reference.py` fails",
        "when it no longer matches them. After changing a script's options, rewrite it from a",
        "checkout: `python scripts/command_reference.py`.",
        "",
        " · ".join(f"[{name}](#{name})" for name in scripts),
        "",
    ]
    for name, entry in scripts.items():
        lines += [f"## {name}", "", "```text", help_text(name, entry).rstrip("\n"), "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/commands.md is out of date")
    args = parser.parse_args(argv)
    page = render()
    if args.check:
        if not PAGE.exists() or PAGE.read_text() != page:
            exit_with_error(
                f"{PAGE.relative_to(REPO)} is out of date: run python scripts/command_reference.py", PROG, code=1
            )
        print(f"{PAGE.relative_to(REPO)} is up to date")
        return
    temporary = PAGE.with_name(PAGE.name + ".tmp")
    temporary.write_text(page)
    temporary.replace(PAGE)
    print(f"wrote {PAGE.relative_to(REPO)} ({len(console_scripts())} commands)")


if __name__ == "__main__":
    main()
