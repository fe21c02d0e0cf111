"""Val-vs-time curves read back from TensorBoard events, and the script that plots them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from torch.utils.tensorboard import SummaryWriter

from helpers import assert_one_error_line, numbers
from wavenet_harness.base.errors import RunDirError
from wavenet_harness.base.metrics import MINIBATCH_LOSS, VAL_LOSS
from wavenet_harness.tracking.curves import val_curve
from wavenet_harness.tracking.tensorboard import TensorBoardTracker

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "plot_val_vs_time.py"


def fake_run(run_dir: Path, start: float, vals: dict[int, float], sub: str = "") -> Path:
    """A run dir whose tb/ holds an lr point at `start` and loss/val at start + step seconds."""
    writer = SummaryWriter(str(run_dir / "tb" / sub) if sub else str(run_dir / "tb"))
    writer.add_scalar("lr", 0.1, 0, walltime=start)
    for step, val in vals.items():
        writer.add_scalar(VAL_LOSS, val, step, walltime=start + step)
    writer.close()
    return run_dir


def test_val_curve_is_timed_from_the_first_event(tmp_path):
    run = fake_run(tmp_path / "run", 1000.0, {120: 2.5, 60: 2.8, 240: 2.1})
    curve = val_curve(run)
    assert [p.step for p in curve] == [60, 120, 240]
    assert [p.val_loss for p in curve] == pytest.approx([2.8, 2.5, 2.1])
    assert [p.minutes for p in curve] == pytest.approx([1.0, 2.0, 4.0])


def test_a_sweep_jobs_events_one_level_down_are_found(tmp_path):
    run = fake_run(tmp_path / "job", 50.0, {30: 2.0}, sub="lr=0.1")
    assert val_curve(run)[0].minutes == pytest.approx(0.5)


def test_the_points_that_hold_val_between_evaluations_are_left_out(tmp_path):
    """The tracker holds val between evaluations and after the last; the curve has one point
    per evaluation, an evaluation that repeats the value before it included."""
    tracker = TensorBoardTracker(tmp_path / "run" / "tb", {"lr": 0.1}, loss_every=1, smooth_window=10)
    for step in range(1, 61):
        tracker.on_train_loss(step, 3.0, 0.1)
        if step % 20 == 0:
            tracker.on_metrics(step, {VAL_LOSS: {20: 2.5, 40: 2.5, 60: 2.25}[step]})
    tracker.on_end({"status": "ok", "steps": 60})
    curve = val_curve(tmp_path / "run")
    assert [(p.step, p.val_loss) for p in curve] == [(20, 2.5), (40, 2.5), (60, 2.25)]


def test_a_folder_without_events_or_val_is_refused(tmp_path):
    with pytest.raises(RunDirError, match="no TensorBoard events"):
        val_curve(tmp_path)
    writer = SummaryWriter(str(tmp_path / "only_train" / "tb"))
    writer.add_scalar(MINIBATCH_LOSS, 3.0, 1)
    writer.close()
    with pytest.raises(RunDirError, match="no loss/val"):
        val_curve(tmp_path / "only_train")


def test_the_script_writes_a_png_and_prints_the_final_points(tmp_path):
    a = fake_run(tmp_path / "a", 0.0, {60: 2.4, 600: 2.0})
    b = fake_run(tmp_path / "b", 0.0, {60: 2.5, 300: 1.98})
    out = tmp_path / "plot.png"
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--run",
            f"seeded={a}",
            "--run",
            f"seeded={b}",
            "--reference",
            "lecture=1.993",
            "--reference",
            "1.9459",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "seeded: 2.0000 at 10.0 min, 1.9800 at 5.0 min" in done.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--run", "no-equals-sign"], "expected LABEL=RUN_DIR"),
        (["--run", "x=/nonexistent/run"], "has no TensorBoard events"),
        (["--run", "x=/nonexistent/run", "--reference", "conv=low"], "expected [LABEL=]VAL_LOSS"),
    ],
)
def test_the_script_refuses_bad_input_in_one_line(tmp_path, args, message):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--out", str(tmp_path / "p.png")], capture_output=True, text=True, cwd=REPO
    )
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "p.png").exists()


def _files(folder):
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _plot(args, tmp_path):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )


def test_plot_out_is_written_exactly_where_it_says_and_never_over_a_run(tmp_path):
    run = fake_run(tmp_path / "a", 0.0, {60: 2.4, 600: 2.0})
    (run / "metrics.json").write_text(json.dumps(numbers(2.0)))
    (tmp_path / "notes.txt").write_text("my notes\n")
    before = _files(tmp_path)
    for out, message in (
        (run / "plot.png", "which holds a run or a sweep"),
        (tmp_path / "notes.txt", "give a .png, .svg, .pdf file name"),
        (tmp_path / "plot.svg", None),
    ):
        if message is None:
            (tmp_path / "plot.svg").mkdir()
            message = "exists and is not a regular file"
        done = _plot(["--run", f"a={run}", "--out", out], tmp_path)
        assert_one_error_line(done.returncode, done.stderr, message, prog="plot_val_vs_time")
    assert _files(tmp_path) == before
    done = _plot(["--run", f"a={run}", "--out", tmp_path / "runs"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"wrote {tmp_path / 'runs.png'}"
    assert (tmp_path / "runs.png").read_bytes()[:4] == b"\x89PNG" and not (tmp_path / "runs").exists()
