"""Optional extras: a feature whose extra is missing ends with one line naming the pip command."""

from __future__ import annotations

import pytest
from hydra.errors import MissingConfigException

from wavenet_harness.adapter.schema import explain_config_error
from wavenet_harness.base import extras
from wavenet_harness.base.errors import ConfigError
from wavenet_harness.sweeps.study import open_storage


@pytest.fixture
def nothing_optional_installed(monkeypatch):
    optional = {module for _, modules in extras.EXTRAS.values() for module in modules}
    real = extras.installed
    monkeypatch.setattr(extras, "installed", lambda module: module not in optional and real(module))


def test_extras_are_found_when_installed():
    assert extras.has_extra("slurm") and extras.has_extra("postgres")  # the test environment has them


def test_postgres_storage_without_a_driver_names_the_extra(nothing_optional_installed):
    with pytest.raises(ConfigError) as err:
        open_storage("postgresql://user@localhost:5432/study")
    message = str(err.value)
    assert len(message.splitlines()) == 1
    assert 'pip install -e ".[postgres]"' in message and "password" not in message


def test_slurm_launcher_without_its_plugin_names_the_extra(nothing_optional_installed):
    # what Hydra raises when conf/hydra/launcher/slurm.yaml's defaults cannot find submitit_slurm
    err = MissingConfigException(
        "In 'hydra/launcher/slurm': Could not load 'hydra/launcher/submitit_slurm'.",
        missing_cfg_file="hydra/launcher/submitit_slurm",
    )
    message = explain_config_error(err)
    assert message is not None and len(message.splitlines()) == 1
    assert 'pip install -e ".[slurm]"' in message


def test_installed_slurm_plugin_leaves_hydra_errors_alone():
    err = MissingConfigException("Could not load 'hydra/launcher/submitit_slurm'.", missing_cfg_file="x")
    assert "pip install" not in (explain_config_error(err) or "")
