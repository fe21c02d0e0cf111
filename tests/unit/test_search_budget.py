"""scripts/plot_search_budget.py: the best recipe so far against CPU-minutes, from studies
and runs made by hand here (journal, metrics.json), through the script's command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna

from helpers import REPO, assert_one_error_line
from wavenet_harness.sweeps.study import open_storage

SCRIPT = REPO / "scripts" / "plot_search_budget.py"
SPACE: dict[str, optuna.distributions.BaseDistribution] = {"x": optuna.distributions.FloatDistribution(0, 1)}


def make_search(sweep_dir: Path, name: str, trials: list[tuple[dict[int, float], str, float]]) -> None:
    """A study in sweep_dir/optuna.journal; each trial (curve, state, seconds) has a run dir."""
    sweep_dir.mkdir(parents=True)
    study = optuna.create_study(study_name=name, storage=open_storage(str(sweep_dir / "optuna.journal")))
    for curve, state, seconds in trials:
        trial = study.ask(SPACE)
        for step, value in curve.items():
            trial.report(value, step)
        run_dir = sweep_dir / str(trial.number)
        run_dir.mkdir()
        (run_dir / "metrics.json").write_text(json.dumps({"status": state, "seconds": seconds}))
        trial.set_user_attr("run_dir", str(run_dir))
        if state == "pruned":
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, curve[max(curve)])


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, cwd=REPO)


def test_best_so_far_per_cpu_minute_for_both_ways(tmp_path):
    # Today's way: a search that counts finished trials' final vals, then a lengthened run.
    make_search(
        tmp_path / "short",
        "short",
        [({10: 2.2, 20: 2.1}, "ok", 120.0), ({10: 2.0}, "pruned", 60.0), ({10: 2.1, 20: 2.05}, "ok", 120.0)],
    )
    lengthened = tmp_path / "lengthened"
    lengthened.mkdir()
    (lengthened / "metrics.json").write_text(json.dumps({"status": "ok", "seconds": 600.0, "val_loss": 1.95}))
    # The new way: any evaluation of any trial is a recipe, the pruned trial's too.
    make_search(tmp_path / "long", "long", [({10: 2.3, 20: 1.98, 30: 2.0}, "ok", 300.0), ({10: 1.97}, "pruned", 60.0)])
    out = tmp_path / "budget.png"
    done = run(
        "--search",
        f"today={tmp_path / 'short'}",
        "--then",
        f"today={lengthened}",
        "--anytime-search",
        f"new={tmp_path / 'long'}",
        "--reference",
        "target=1.915",
        "--out",
        out,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"today: best val 1.9500 (run {lengthened}) after 15.0 CPU-minutes"
    # 2 min: trial 0 ends at 2.1; 3 min: the pruned trial adds cost, not a recipe; 5 min: 2.05; 15 min: the run.
    assert [line.split()[:2] for line in lines[1:5]] == [
        ["2.0", "2.1000"],
        ["3.0", "2.1000"],
        ["5.0", "2.0500"],
        ["15.0", "1.9500"],
    ]
    new = lines.index("new: best val 1.9700 (trial 1 (pruned)) after 6.0 CPU-minutes")
    assert [line.split()[:2] for line in lines[new + 1 : new + 3]] == [["5.0", "1.9800"], ["6.0", "1.9700"]]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_input_is_one_line(tmp_path):
    for args, message in [
        ([], "give at least one --search, --anytime-search, --then or --spent"),
        (["--spent", "a=66.3"], "expected LABEL=CPU_MINUTES:VAL_LOSS"),
        (["--search", f"a={tmp_path}"], "optuna.journal does not exist"),
        (["--search", "no-label"], "expected LABEL=PATH"),
        (["--search", f"a={tmp_path}", "--out", tmp_path / "x.txt"], "give a .png, .svg, .pdf file name"),
    ]:
        done = run(*args)
        assert_one_error_line(done.returncode, done.stderr, message, prog="plot_search_budget")


def test_results_known_only_as_numbers_join_in_order(tmp_path):
    # docs/tuning.md's record of today's way: the search's 66.3 CPU-minutes to 1.9636, then
    # the lengthened run's 25.9 minutes to 1.9242.
    done = run("--spent", "today=66.3:1.9636", "--spent", "today=25.9:1.9242")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "today: best val 1.9242 (25.9 CPU-minutes recorded) after 92.2 CPU-minutes"
