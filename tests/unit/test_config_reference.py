"""The configuration reference and --help come from the declarations: a key cannot be
documented without existing, nor exist without being documented; and every option of a
config group has both its declaration and its conf/ file."""

from __future__ import annotations

import re

from helpers import REPO
from wavenet_harness.adapter.reference import help_text, option_keys, reference_markdown, top_level_keys
from wavenet_harness.adapter.schema import group_options

PAGE = REPO / "docs" / "reference.md"
CONF = REPO / "conf"


def _declared() -> set[str]:
    keys = {key.name for key in top_level_keys()}
    for group, options in group_options().items():
        keys |= {key.name for option in options for key in option_keys(group, option)}
    return keys


def test_the_reference_page_is_rendered_from_the_declarations():
    assert PAGE.read_text() == reference_markdown(CONF), "run: python scripts/config_reference.py"


def test_the_reference_names_every_declared_key_and_no_other():
    named = set(re.findall(r"^\| `([\w.]+)` \|", PAGE.read_text(), flags=re.M))
    assert named == _declared()


def test_the_check_would_catch_a_key_that_does_not_exist():
    page = PAGE.read_text().replace("| `lr` |", "| `learning_rate` |")
    named = set(re.findall(r"^\| `([\w.]+)` \|", page, flags=re.M))
    assert named - _declared() == {"learning_rate"} and "lr" in _declared() - named


def test_every_group_option_has_its_declaration_and_its_conf_file():
    for group, options in group_options().items():
        files = {path.stem for path in (CONF / group).glob("*.yaml")}
        assert files == set(options), group
        for name in options:
            assert f"/schema/{group}/{name}@{group}" in (CONF / group / f"{name}.yaml").read_text()


def test_every_declared_key_has_a_meaning_and_help_fits_100_columns():
    assert all(key.meaning for key in top_level_keys())
    assert all(
        key.meaning
        for group, options in group_options().items()
        for option in options
        for key in option_keys(group, option)
    )
    text = help_text(CONF)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert all(f"{key.name}=" in text for key in top_level_keys())


def test_no_option_file_restates_a_declared_default():
    """Defaults live in the declarations: a conf/<group>/<option>.yaml only chooses its schema
    (and, for a model, the top-level shape it changes)."""
    for group, options in group_options().items():
        for name in options:
            text = (CONF / group / f"{name}.yaml").read_text()
            body = [line for line in text.splitlines() if line and not line.lstrip().startswith(("#", "-", "defaults"))]
            own = {key.name.split(".", 1)[1] for key in option_keys(group, name)}
            assert not [line for line in body if line.split(":")[0].strip() in own], (group, name)
