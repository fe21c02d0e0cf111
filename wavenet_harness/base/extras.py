"""Optional extras: which feature needs which installed package, and what to say when it is missing.

The core install trains, sweeps (basic and joblib launchers) and searches with Optuna on
one machine. Five features need packages most users never use, so they are extras of
pyproject.toml:

  postgres   a shared Optuna study in PostgreSQL (hydra.sweeper.storage=postgresql://...)
  slurm      hydra/launcher=slurm and submitit_local (hydra-submitit-launcher)
  dashboard  optuna-dashboard, Optuna's own web view of a search
  plots      matplotlib, for scripts/plot_val_vs_time.py's PNG
  html       plotly, for wavenet-report --html's page

Choosing one of these features without its extra ends with one line naming the pip command.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

# extra -> (what it enables, modules of which any one is enough)
EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "postgres": ("a PostgreSQL storage needs a PostgreSQL driver", ("psycopg", "psycopg2")),
    "slurm": (
        "the SLURM and submitit launchers need hydra-submitit-launcher",
        ("hydra_plugins.hydra_submitit_launcher",),
    ),
    "dashboard": ("optuna-dashboard is", ("optuna_dashboard",)),
    "plots": ("plotting needs matplotlib", ("matplotlib",)),
    "html": ("wavenet-report --html draws its charts with plotly", ("plotly",)),
}


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing
        return False


def has_extra(extra: str) -> bool:
    return any(installed(module) for module in EXTRAS[extra][1])


def _source_checkout() -> Path | None:
    """The checkout this package runs from (pyproject.toml beside it), or None for an installed copy."""
    top = Path(__file__).resolve().parents[2]  # wavenet_harness/base/extras.py -> the checkout
    return top if (top / "pyproject.toml").is_file() else None


def install_command(extra: str) -> str:
    """What the user types: the editable form from a checkout, the package name otherwise."""
    checkout = _source_checkout()
    if checkout is None:
        return f'pip install "wavenet-harness[{extra}]"'
    where = "." if checkout == Path.cwd().resolve() else str(checkout)
    return f'pip install -e "{where}[{extra}]"'


def missing_extra_message(extra: str) -> str:
    """'hydra/launcher=slurm ... is not installed: pip install -e ".[slurm]"' style line."""
    return f"{EXTRAS[extra][0]}, which is not installed; install it with: {install_command(extra)}"
