"""The Python API's own parts, without training: what its arguments become, what it exports, and
that importing the package stays light (no torch, no Hydra until an API function is used)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from helpers import REPO
from wavenet_harness.api.overrides import as_overrides, call_text, hydra_value
from wavenet_harness.base import errors

VALUES = [
    True,
    False,
    None,
    3,
    -1,
    0.1,
    1e-05,
    2.5e30,
    "hier",
    "/tmp/x-y/w_1.txt",
    "/tmp/my dir/w.txt",
    "it's",
    "back\\",
    "a,b",
    "~home",
    "x=y",
    "[1,2]",
    "",
    "true",
    "ünï",
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_every_value_reads_back_as_itself_through_hydras_grammar(value):
    parsed = OverridesParser.create().parse_override(f"key={hydra_value(value)}")
    assert not parsed.is_sweep_override()
    # Hydra reads a string that looks like a number or a boolean as one: the config's
    # declared type turns it back (data.path is a str). Everything else comes back as given.
    assert parsed.value() == value or (isinstance(value, str) and str(parsed.value()).lower() == value)


def test_keywords_become_the_command_lines_overrides():
    given = as_overrides(
        ["model=conv", "+hydra.x=1"],
        {
            "n_hidden": 128,
            "log": {"samples": 0, "progress": False},
            "model": {"dropout": 0.1},
            "data": {"path": Path("w s.txt")},
            "resume": True,
            "lr": 1e-3,
        },
    )
    assert given == [
        "model=conv",
        "+hydra.x=1",
        "n_hidden=128",
        "log.samples=0",
        "log.progress=false",
        "model.dropout=0.1",
        "data.path='w s.txt'",
        "resume=true",
        "lr=0.001",
    ]
    assert as_overrides([], {"n_hidden": [64, 128], "optim": {"name": ("sgd", "adamw")}}, sweep=True) == [
        "n_hidden=64,128",
        "optim.name=sgd,adamw",
    ]


def test_what_cannot_be_an_override_is_one_line():
    with pytest.raises(
        errors.ConfigError,
        match=r"n_hidden=\[64, 128\] is a list of values, which is a sweep: use "
        r"wavenet_harness.sweep\(n_hidden=\[64, 128\], \.\.\.\)",
    ):
        as_overrides([], {"n_hidden": [64, 128]})
    with pytest.raises(errors.UsageError, match="'--multirun' is not an override"):
        as_overrides(["--multirun"], {})
    with pytest.raises(errors.UsageError, match="cannot be a config value"):
        as_overrides([], {"lr": object()})
    with pytest.raises(errors.UsageError, match=r"n_hidden=\[\] has no values"):
        as_overrides([], {"n_hidden": []}, sweep=True)


def test_an_interrupted_calls_resume_line_is_python():
    assert (
        call_text("train", ["max_steps=60"], n_hidden=8, run_dir="runs/x", resume=True)
        == "wavenet_harness.train('max_steps=60', n_hidden=8, run_dir='runs/x', resume=True)"
    )


def test_importing_the_package_stays_light_and_hands_out_the_api():
    code = (
        "import sys, wavenet_harness as wh\n"
        "names = (wh.__version__, wh.UserError, wh.ConfigError, wh.ExtraMissing)\n"
        "heavy = sorted(m for m in ('torch', 'hydra', 'omegaconf', 'tensorboard', 'optuna') if m in sys.modules)\n"
        "print(heavy)\n"
        "assert 'train' in dir(wh) and 'sweep' in dir(wh)\n"
        "wh.train\n"
        "print('torch' in sys.modules)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["[]", "True"]


def test_the_api_exports_the_one_error_contract():
    import wavenet_harness as wh

    for name in (
        "UserError",
        "ConfigError",
        "DataError",
        "CheckpointError",
        "RunDirError",
        "RunDirTaken",
        "RunDirFull",
        "UsageError",
        "ExtraMissing",
    ):
        assert getattr(wh, name) is getattr(errors, name) and issubclass(getattr(wh, name), errors.UserError)
    assert issubclass(wh.Interrupted, KeyboardInterrupt)
    with pytest.raises(AttributeError, match="has no attribute 'trian'"):
        wh.trian  # noqa: B018
