"""Study storages that are not what they seem: a FIFO journal ends in one line instead of a
hang, and reading a study never creates a database."""

from __future__ import annotations

import os

from helpers import TINY_OVERRIDES, assert_one_error_line


def test_wavenet_study_refuses_a_fifo_and_a_database_that_does_not_exist(tmp_path, cli):
    fifo = tmp_path / "optuna.journal"
    os.mkfifo(fifo)
    code, _, err = cli.in_process("wavenet-study", ["--storage", str(fifo)])
    assert_one_error_line(code, err, "is not a regular file", prog="wavenet-study")
    code, _, err = cli.in_process("wavenet-study", [str(tmp_path)])
    assert_one_error_line(code, err, "is not a regular file", prog="wavenet-study")
    code, _, err = cli.in_process("wavenet-study", ["--storage", f"sqlite:///{tmp_path / 'new.db'}"])
    assert_one_error_line(code, err, "new.db does not exist", prog="wavenet-study")
    assert not (tmp_path / "new.db").exists()


def test_a_search_on_a_fifo_journal_ends_in_one_line(tmp_path, tiny_words_file, cli):
    fifo = tmp_path / "journal.fifo"
    os.mkfifo(fifo)
    result = cli(
        [
            "--multirun",
            "hparams_search=hier_optuna",
            *TINY_OVERRIDES,
            f"data.path={tiny_words_file}",
            f"hydra.sweeper.storage={fifo}",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
            "hydra.sweeper.n_trials=1",
        ],
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "is not a regular file" in result.stderr
