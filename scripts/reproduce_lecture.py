"""Reproduce the performance log of makemore part 5 as one multirun and compare.

    python scripts/reproduce_lecture.py                       # all five rows, one after another
    python scripts/reproduce_lecture.py --jobs 2              # two at a time (joblib, 1 thread each)
    python scripts/reproduce_lecture.py --rows lecture_mlp3 lecture_mlp8   # some rows only
    python scripts/reproduce_lecture.py --report runs/lecture/DATE          # table of finished sweep(s)

Each row is a preset in conf/experiment/; the table puts our train/val loss beside the
numbers the lecture printed. Extra arguments are passed to wavenet-train as overrides
(e.g. max_steps=20000 for a quick look; then the lecture's numbers do not apply).

From a checkout only: scripts/ is not part of the installed package (not in the wheel);
run it from the repository's root with the package installed (pip install -e .).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from wavenet_harness.base.errors import exit_with_error
from wavenet_harness.base.records import find_run_dirs, read_metrics, read_overrides

# experiment preset -> (description, params, lecture train, lecture val)
LECTURE_LOG = {
    "lecture_mlp3": ("original (3 character context + 200 hidden neurons)", 12097, 2.058, 2.105),
    "lecture_mlp8": ("context: 3 -> 8", 22097, 1.918, 2.027),
    "lecture_hier_bug": ("flat -> hierarchical (with the batchnorm bug)", 22397, 1.941, 2.029),
    "lecture_hier_fixed": ("fix bug in batchnorm", 22397, 1.912, 2.022),
    "lecture_hier": ("scale up: n_embd 24, n_hidden 128", 76579, 1.769, 1.993),
}


def run_sweep(sweep_dir: Path, jobs: int, extra: list[str], rows: list[str]) -> int:
    # Largest model first, so that with --jobs the long run is not left until last.
    order = sorted(rows, key=lambda name: -LECTURE_LOG[name][1])
    command = [
        "wavenet-train",
        "--multirun",
        f"experiment={','.join(order)}",
        f"hydra.sweep.dir={sweep_dir}",
        "log.progress=false",
    ]
    if jobs > 1:
        command += ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={jobs}", "threads=1"]
    command += extra
    print("running:", " ".join(command), flush=True)
    return subprocess.call(command)


def experiment_of(job_dir: Path) -> str | None:
    for override in read_overrides(job_dir):
        if override.startswith("experiment="):
            return override.split("=", 1)[1]
    return None


def collect(sweep_dir: Path) -> dict[str, dict]:
    """Each preset's metrics in a sweep directory (or a folder of run directories)."""
    found = {}
    for run_dir in sorted(find_run_dirs(sweep_dir)):
        name = experiment_of(run_dir)
        metrics = read_metrics(run_dir)
        if name in LECTURE_LOG and metrics:
            found[name] = metrics
    return found


def markdown_table(results: dict[str, dict]) -> str:
    lines = [
        "| row | params | lecture train | lecture val | ours train | ours val | status | minutes |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for name, (description, params, train, val) in LECTURE_LOG.items():
        m = results.get(name, {})
        ours_train = f"{m['train_loss']:.4f}" if m.get("train_loss") is not None else "-"
        ours_val = f"{m['val_loss']:.4f}" if m.get("val_loss") is not None else "-"
        ours_params = m.get("params", params)
        minutes = f"{m['seconds'] / 60:.1f}" if m.get("seconds") else "-"
        lines.append(
            f"| {description} (`experiment={name}`) | {ours_params:,} | {train:.3f} | {val:.3f} | "
            f"{ours_train} | {ours_val} | {m.get('status', 'missing')} | {minutes} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1, help="rows to train at once (joblib launcher)")
    parser.add_argument("--report", type=Path, nargs="+", help="only print the table of existing sweep directories")
    parser.add_argument("--out", type=Path, help="sweep directory (default runs/lecture/<timestamp>)")
    parser.add_argument(
        "--rows",
        nargs="+",
        choices=list(LECTURE_LOG),
        default=list(LECTURE_LOG),
        help="only these presets (default: all five)",
    )
    args, extra = parser.parse_known_args()

    if args.report:
        sweep_dirs = args.report
        missing = [str(d) for d in sweep_dirs if not d.is_dir()]
        if missing:
            exit_with_error(f"not a directory: {', '.join(missing)}", "reproduce_lecture")
        code = 0
    else:
        sweep_dirs = [args.out or Path("runs/lecture") / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")]
        code = run_sweep(sweep_dirs[0], args.jobs, extra, args.rows)
    results = {}
    for sweep_dir in sweep_dirs:
        results.update(collect(sweep_dir))
    print(markdown_table(results))
    print(f"\nsweep directory: {' '.join(map(str, sweep_dirs))}")
    return code if results else 1


if __name__ == "__main__":
    sys.exit(main())
