"""An experiment preset written from a search's trial: the Hydra half of `wavenet-study --export`.

sweeps/recipe.py decides which trial and step, which keys and where the file goes; this
module reads the trial's saved config (its run folder's .hydra/), composes the default
config with the same groups (unresolved, as wavenet-train composes it) to compare with,
and writes the preset, never over a file. It knows conf/ only through adapter/config.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf

from wavenet_harness.adapter.config import compose_config, config_dir
from wavenet_harness.base.errors import UsageError
from wavenet_harness.base.files import read_regular_text
from wavenet_harness.base.records import HYDRA_DIR
from wavenet_harness.sweeps import recipe


def checkout_conf() -> Path | None:
    """The conf/ folder wavenet-train reads, when it is a source checkout's (pip install -e .),
    where a new preset can go; None for an installed package."""
    conf = Path(config_dir())
    return conf if (conf.parent / "pyproject.toml").is_file() else None


def saved_config(run_dir: Path, number: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The trial's config as it ran and Hydra's own node, from its run folder's .hydra/."""
    folder = run_dir / HYDRA_DIR
    try:
        ran, hydra_cfg = (yaml.safe_load(read_regular_text(folder / name)) for name in ("config.yaml", "hydra.yaml"))
    except (OSError, yaml.YAMLError) as err:
        raise UsageError(
            f"trial {number}'s config cannot be read from {folder}: {getattr(err, 'strerror', None) or err}"
        ) from None
    if not isinstance(ran, dict) or not isinstance(hydra_cfg, dict):
        raise UsageError(f"trial {number}'s config in {folder} is not a config (config.yaml, hydra.yaml)")
    return ran, hydra_cfg


def default_config(groups: dict[str, str]) -> dict[str, Any]:
    """The config `wavenet-train model=... optim=... schedule=...` composes, ${...} kept."""
    composed = compose_config([f"{group}={option}" for group, option in groups.items()], hydra_config=True)
    container = OmegaConf.to_container(composed, resolve=False)
    assert isinstance(container, dict)
    return {str(k): v for k, v in container.items() if k != "hydra"}


def write_preset(
    choice: recipe.Choice, run_dir: Path, study: str, storage: str, name: str, config_dir_option: str | None
) -> tuple[Path, int]:
    """Write the chosen trial as experiment=NAME (see sweeps/recipe.py); return where it went
    and its max_steps."""
    path = recipe.preset_path(name, config_dir_option, checkout_conf())
    ran, hydra_cfg = saved_config(run_dir, choice.trial.number)
    groups = recipe.group_choices(hydra_cfg)
    keys = recipe.recipe_keys(
        ran, default_config(groups), choice.step if choice.step is not None else int(ran["max_steps"])
    )
    text = recipe.preset_text(choice, study, storage, groups, keys, name, config_dir_option)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x") as f:  # never over a file that appeared meanwhile
            f.write(text)
    except OSError as err:
        raise UsageError(f"cannot write {path}: {err.strerror or err}") from None
    return path, int(keys["max_steps"])
