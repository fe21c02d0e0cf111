"""The package's arrows point one way: no import cycles, and nothing imports the console scripts.

The import graph is read from the source with ast, module-level and function-level
imports alike (a lazy import is still an arrow), so it holds without importing anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import REPO

PACKAGE = "wavenet_harness"
ROOT = REPO / PACKAGE


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in ROOT.rglob("*.py")}


def _imported(node: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """Package modules one import statement depends on.

    Importing a.b.c also runs a/__init__ and a/b/__init__; that counts as an arrow unless
    the importer lives inside that package (Python has it in sys.modules by then). A
    `from package import name` where `name` is not a submodule is an arrow to the package.
    """
    explicit: list[str] = []
    if isinstance(node, ast.Import):
        explicit = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            anchor = module.split(".")
            anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
            base = ".".join([*anchor, base] if base else anchor)
        submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]
        explicit = submodules + ([base] if len(submodules) < len(node.names) else [])
    found = set()
    for name in explicit:
        parts = name.split(".")
        found |= {name} & known
        for i in range(1, len(parts)):
            parent = ".".join(parts[:i])
            if parent in known and not module.startswith(parent + "."):
                found.add(parent)
    return found - {module}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        is_package = path.name == "__init__.py"
        graph[module] = set().union(
            *(_imported(node, module, is_package, known) for node in ast.walk(tree)
              if isinstance(node, (ast.Import, ast.ImportFrom)))
        )
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules around it; None when there is none."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_package_has_no_import_cycles():
    graph = import_graph()
    assert len(graph) > 20 and graph[f"{PACKAGE}.training.job"]  # the graph was read
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_a_cycle_would_be_found():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_nothing_outside_cli_imports_from_cli():
    cli = f"{PACKAGE}.cli"
    offenders = {
        module: sorted(t for t in targets if t == cli or t.startswith(cli + "."))
        for module, targets in import_graph().items()
        if not (module == cli or module.startswith(cli + "."))
    }
    assert {m: t for m, t in offenders.items() if t} == {}


def test_the_run_directory_and_data_sit_at_the_bottom():
    # data and the run directory's owner are what everything else builds on.
    graph = import_graph()
    # passwords.py (masking secrets in what a run writes) is base layer too: it imports nothing of ours.
    assert graph[f"{PACKAGE}.passwords"] <= {f"{PACKAGE}"}
    assert graph[f"{PACKAGE}.tracking.rundir"] <= {f"{PACKAGE}", f"{PACKAGE}.tracking", f"{PACKAGE}.passwords"}
    assert graph[f"{PACKAGE}.data"] <= {
        f"{PACKAGE}", f"{PACKAGE}.errors", f"{PACKAGE}.tracking", f"{PACKAGE}.tracking.rundir"
    }
