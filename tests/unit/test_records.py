"""The run record (base/records.py), the error contract (base/errors.py) and the model specs
(models/spec.py): one writer and one reader of metrics.json, one way to end on a user's
mistake, one declaration per model."""

from __future__ import annotations

import json

import pytest

from helpers import REPO
from wavenet_harness.base.errors import ConfigError, RunDirTaken, UserError, exit_with_error
from wavenet_harness.base.passwords import remember_secrets_in
from wavenet_harness.base.records import (
    METRICS_NAME,
    RunRecord,
    load_run,
    load_runs,
    mark_ended,
    read_metrics,
    write_record,
)
from wavenet_harness.models import MODELS, SPECS, hparam_columns, model_options, trains_on_words


def test_a_record_round_trips_through_metrics_json_with_its_extras(tmp_path):
    record = RunRecord(tmp_path, status="running", model="hier", params=123, steps=0, max_steps=10, seconds=0.0)
    write_record(record)
    started = read_metrics(tmp_path)
    assert started["status"] == "running" and "error" not in started and "finished_at" not in started
    record.update(
        status="ok",
        steps=10,
        val_loss=2.5,
        error=None,
        finished_at="2026-12-02T00:00:00",
        eval_seconds=0.25,
        scored_weights="ema",
    )
    write_record(record)
    saved = json.loads((tmp_path / METRICS_NAME).read_text())
    assert saved["error"] is None and saved["eval_seconds"] == 0.25 and saved["scored_weights"] == "ema"
    back = load_run(tmp_path)
    assert back.as_json() == saved and back.finite_val_loss == 2.5 and back.number("eval_seconds") == 0.25


def test_missing_damaged_and_diverged_records_read_as_such(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / METRICS_NAME).write_text("{not json")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / METRICS_NAME).write_text('{"status": "diverged", "val_loss": null, "steps": 7}')
    assert load_run(tmp_path / "a").status == "missing"
    assert load_run(tmp_path / "b").status == "unreadable"
    diverged = load_run(tmp_path / "c")
    assert diverged.status == "diverged" and diverged.finite_val_loss is None and diverged.steps == 7
    assert sorted(r.run_dir.name for r in load_runs(tmp_path)) == ["b", "c"]  # a has no record at all


def test_a_run_ended_elsewhere_keeps_what_it_wrote(tmp_path):
    write_record(
        RunRecord(tmp_path, status="running", model="gru", steps=40, val_loss=2.1, extra={"eval_seconds": 1.0})
    )
    ended = mark_ended(tmp_path, "interrupted", "its sweep was stopped")
    saved = read_metrics(tmp_path)
    assert (saved["status"], saved["steps"], saved["val_loss"], saved["eval_seconds"]) == ("interrupted", 40, 2.1, 1.0)
    assert saved["error"] == "its sweep was stopped" and saved["finished_at"] == ended.finished_at


def test_every_user_error_ends_in_one_masked_line_and_exit_2(capsys):
    assert issubclass(ConfigError, UserError) and issubclass(RunDirTaken, UserError)
    remember_secrets_in("postgresql://me:hunter22@db/x")
    with pytest.raises(SystemExit) as ended:
        exit_with_error("cannot open postgresql://me:hunter22@db/x", "wavenet-study")
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("wavenet-study: error: ") and "hunter22" not in err


def test_every_model_declares_its_spec_and_the_registry_finds_it():
    assert set(MODELS) == {path.stem for path in (REPO / "conf" / "model").glob("*.yaml")}
    assert all(SPECS[name].name == name for name in MODELS)
    assert hparam_columns() == {"residual": False, "dropout": 0.0, "batchnorm_bug": False, "n_head": 0, "norm": "none"}
    words = {
        name
        for name in MODELS
        if trains_on_words(model_options(name, **({"all_positions": False} if name == "conv" else {})))
    }
    assert words == {"gru", "transformer", "wavenet"}
    assert trains_on_words(model_options("conv", all_positions=True))
    assert [name for name in MODELS if SPECS[name].fast_path] == ["hier", "mlp"]


def test_written_files_take_the_umask_not_0600(tmp_path):
    import os

    from wavenet_harness.base.files import write_atomic

    mask = os.umask(0o022)
    os.umask(mask)
    path = write_atomic(tmp_path / "metrics.json", lambda f: f.write("{}"))
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
