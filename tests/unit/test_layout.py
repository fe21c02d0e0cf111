"""The folders are the layers, and the arrows point down: each layer imports only itself and
the layers below it, there are no import cycles, and no module is over 300 lines.

  1 base      errors, files, the run record, data, passwords, interrupts, extras
  2 models
  3 training  (nothing of Hydra, sweeps, TensorBoard or run directories)
  4 tracking
  5 sweeps
  6 adapter   the Hydra adapter, and the Hydra plugins (hydra_plugins/wavenet_*)
  7 api       the Python API (train, sweep, Run, Sweep): the CLI's guarantees from a notebook
  8 cli

The import graph is read from the source with ast, module-level and function-level
imports alike (a lazy import is still an arrow), so it holds without importing anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import REPO

PACKAGE = "wavenet_harness"
ROOTS = [REPO / PACKAGE, *sorted((REPO / "hydra_plugins").glob("wavenet_*"))]
# Layer by module-name prefix, bottom first.
LAYERS = [
    ("base", (f"{PACKAGE}.base",)),
    ("models", (f"{PACKAGE}.models",)),
    ("training", (f"{PACKAGE}.training",)),
    ("tracking", (f"{PACKAGE}.tracking",)),
    ("sweeps", (f"{PACKAGE}.sweeps",)),
    ("adapter", (f"{PACKAGE}.adapter", "hydra_plugins")),
    ("api", (f"{PACKAGE}.api",)),
    ("cli", (f"{PACKAGE}.cli",)),
]
BELOW_THE_ADAPTER = ("base", "models", "training", "tracking", "sweeps")
LONGEST_MODULE = 300


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for root in ROOTS for path in root.rglob("*.py")}


def _imported(
    node: ast.AST, module: str, is_package: bool, known: set[str], quiet: frozenset = frozenset()
) -> set[str]:
    """Package modules one import statement depends on.

    Importing a.b.c also runs a/__init__ and a/b/__init__; that counts as an arrow unless
    the importer lives inside that package (Python has it in sys.modules by then), or the
    package is `quiet`: its __init__ imports none of the package's modules when it runs
    (wavenet_harness/__init__ hands out the API's names lazily, on first use). A
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
            if parent in known and parent not in quiet and not module.startswith(parent + "."):
                found.add(parent)
    return found - {module}


def import_time_imports(tree: ast.AST) -> list[ast.AST]:
    """The import statements a module runs when it is imported: not those inside functions
    (a lazy import runs when it is called) nor under `if TYPE_CHECKING:`."""
    found: list[ast.AST] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append(child)
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for statement in child.orelse:
                    visit(ast.Module(body=[statement], type_ignores=[]))
            elif not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    trees = {module: ast.parse(path.read_text(), filename=str(path)) for module, path in modules.items()}
    packages = {module for module, path in modules.items() if path.name == "__init__.py"}
    quiet = frozenset(
        package
        for package in packages
        if not any(_imported(node, package, True, known) for node in import_time_imports(trees[package]))
    )
    graph = {}
    for module, tree in trees.items():
        graph[module] = set().union(
            *(
                _imported(node, module, module in packages, known, quiet)
                for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom))
            )
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
                return stack[stack.index(target) :] + [target]
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
    assert len(graph) > 20 and graph[f"{PACKAGE}.adapter.job"]  # the graph was read
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_only_what_runs_on_import_makes_a_package_init_an_arrow():
    source = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.api import train\n"
        "def __getattr__(name):\n    from pkg import api\n    return getattr(api, name)\n"
    )
    runs = [ast.unparse(node) for node in import_time_imports(ast.parse(source))]
    assert runs == ["from typing import TYPE_CHECKING"]
    eager = "import pkg.base\ntry:\n    from pkg.api import train\nexcept ImportError:\n    pass\n"
    assert len(import_time_imports(ast.parse(eager))) == 2
    # wavenet_harness/__init__ is quiet: importing a submodule (as the Hydra plugins do) is no arrow to the API
    graph = import_graph()
    assert f"{PACKAGE}.api" in graph[PACKAGE]
    assert PACKAGE not in graph["hydra_plugins.wavenet_optuna_sweeper._space"]


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


def layer_of(module: str) -> int | None:
    """The layer's index (0 = base), None for the package's own __init__ (it only hands out
    the API's names, lazily: test_importing_the_package_stays_light)."""
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return index
    if module == PACKAGE:
        return None
    raise AssertionError(f"{module} is in no layer: put it in one of the layer folders")


def upward_arrows(graph: dict[str, set[str]]) -> list[str]:
    """Every import that runs from a lower layer to a higher one."""
    found = []
    for module, targets in graph.items():
        for target in targets:
            mine, theirs = layer_of(module), layer_of(target)
            if mine is not None and theirs is not None and theirs > mine:
                found.append(f"{module} ({LAYERS[mine][0]}) -> {target} ({LAYERS[theirs][0]})")
    return sorted(found)


def test_every_module_lives_in_a_layer_folder():
    graph = import_graph()
    assert {layer_of(module) for module in graph} - {None} == set(range(len(LAYERS)))  # every layer has modules
    loose = [m for m in graph if m.count(".") == 1 and m.startswith(PACKAGE + ".") and layer_of(m) is None]
    assert loose == []


def test_no_import_runs_up_a_layer():
    graph = import_graph()
    assert graph[f"{PACKAGE}.adapter.job"] and graph["hydra_plugins.wavenet_optuna_sweeper._search"]  # read
    assert upward_arrows(graph) == []


def test_an_upward_import_would_be_found():
    graph = {f"{PACKAGE}.base.data": {f"{PACKAGE}.tracking.rundir"}, f"{PACKAGE}.tracking.rundir": set()}
    assert upward_arrows(graph) == [f"{PACKAGE}.base.data (base) -> {PACKAGE}.tracking.rundir (tracking)"]


def test_below_the_adapter_nothing_imports_hydra():
    """Training, tracking and sweeps are handed plain values; Hydra's types stop at the adapter."""
    offenders = []
    for module, path in _modules().items():
        layer = layer_of(module)
        if layer is None or LAYERS[layer][0] not in BELOW_THE_ADAPTER:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [f"{module}: {n}" for n in names if n.split(".")[0] in ("hydra", "omegaconf")]
    assert offenders == []


def test_no_module_is_over_300_lines():
    long = {
        module: n for module, path in _modules().items() if (n := len(path.read_text().splitlines())) > LONGEST_MODULE
    }
    assert long == {}


CONFIG_NAMES = ("cfg", "config", "plain")


def raw_config_reads(source: str) -> list[str]:
    """Places that read a config by string (`cfg["lr"]`, `config.get("lr")`) or take one
    that is not the typed RunConfig: below the adapter a config arrives typed."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in CONFIG_NAMES:
            found.append(f"line {node.lineno}: {node.value.id}[...]")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in CONFIG_NAMES
        ):
            found.append(f"line {node.lineno}: {node.func.value.id}.get(...)")
        elif isinstance(node, ast.arg) and node.arg in CONFIG_NAMES:
            annotation = ast.unparse(node.annotation) if node.annotation else ""
            if annotation.strip("'\"") != "RunConfig":
                found.append(f"line {node.lineno}: parameter {node.arg}: {annotation or 'untyped'}")
    return found


def test_below_the_adapter_nothing_reads_the_raw_config():
    """The adapter validates once and hands down a frozen RunConfig (or its typed options)."""
    offenders = []
    for module, path in _modules().items():
        layer = layer_of(module)
        if layer is not None and LAYERS[layer][0] in BELOW_THE_ADAPTER:
            offenders += [f"{module} {where}" for where in raw_config_reads(path.read_text())]
    assert offenders == []


def test_a_raw_config_read_would_be_found():
    source = "def build(cfg: dict, config: 'RunConfig'):\n    return cfg['lr'], cfg.get('seed'), config.lr\n"
    assert raw_config_reads(source) == ["line 1: parameter cfg: dict", "line 2: cfg[...]", "line 2: cfg.get(...)"]


LONGEST_FUNCTION = 60


def long_functions(source: str, limit: int = LONGEST_FUNCTION) -> list[str]:
    return [
        f"{node.name} ({lines} lines)"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (lines := _lines(node)) > limit
    ]


def _lines(node: ast.stmt) -> int:
    assert node.end_lineno is not None  # ast.parse sets every position
    return node.end_lineno - node.lineno + 1


def test_no_function_is_over_60_lines():
    long = {module: found for module, path in _modules().items() if (found := long_functions(path.read_text()))}
    assert long == {}


def test_a_long_function_would_be_found():
    assert long_functions("def f():\n" + "    x = 1\n" * 60) == ["f (61 lines)"]
