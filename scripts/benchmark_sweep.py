"""Parallel speed-up of a sweep: N equal jobs one after another, then side by side.

    python scripts/benchmark_sweep.py                    # 4 jobs x 3000 steps, then 2 at a time
    python scripts/benchmark_sweep.py --jobs 6 --parallel 3 --steps 5000

Both sweeps run in this one invocation, on the same machine and data, through the real
CLI (`wavenet-train --multirun`): first with Hydra's basic launcher and threads=1, then
with `hydra/launcher=parallel hydra.launcher.n_jobs=P` and threads=0, which gives each
job cores // P torch threads. The jobs differ only in their seed, so they cost the same.
It prints the wall-clock time of each sweep (process start-up included) and the speed-up
sequential / parallel; the ideal is min(P, cores, jobs). The ratio is only meaningful on
an otherwise idle machine.

From a checkout only: scripts/ is not part of the installed package (not in the wheel);
run it from the repository's root with the package installed (pip install -e .).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wavenet_harness.base.errors import exit_with_error
from wavenet_harness.base.records import read_metrics, sweep_job_dirs

REPO = Path(__file__).resolve().parents[1]


def run_sweep(sweep_dir: Path, jobs: int, steps: int, data: str, launcher: list[str], threads: int) -> float:
    seeds = ",".join(str(seed) for seed in range(1, jobs + 1))
    command = [
        "wavenet-train",
        "--multirun",
        f"seed={seeds}",
        f"max_steps={steps}",
        f"eval_interval={steps}",
        "checkpoint_interval=0",
        "log.progress=false",
        f"threads={threads}",
        f"data.path={data}",
        f"hydra.sweep.dir={sweep_dir}",
        *launcher,
    ]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"benchmark_sweep: error: the sweep failed:\n{done.stderr[-2000:]}")
    statuses = [read_metrics(job).get("status") for job in sweep_job_dirs(sweep_dir)]
    if statuses.count("ok") != jobs:
        sys.exit(f"benchmark_sweep: error: expected {jobs} finished jobs, got {statuses}")
    return seconds


def training_seconds(sweep_dir: Path) -> float:
    return sum(read_metrics(job)["seconds"] for job in sweep_job_dirs(sweep_dir))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4, help="equal jobs in each sweep (default 4)")
    parser.add_argument("--parallel", type=int, default=2, help="jobs at a time in the parallel sweep (default 2)")
    parser.add_argument("--steps", type=int, default=3000, help="training steps per job (default 3000)")
    parser.add_argument("--data", default="data/names.txt", help="words file (default data/names.txt)")
    args = parser.parse_args()
    if min(args.jobs, args.parallel, args.steps) < 1:
        exit_with_error("--jobs, --parallel and --steps must be positive", "benchmark_sweep")

    from joblib import cpu_count

    with tempfile.TemporaryDirectory(prefix="wavenet-sweep-bench-") as tmp:
        sequential_dir, parallel_dir = Path(tmp) / "sequential", Path(tmp) / "parallel"
        sequential = run_sweep(sequential_dir, args.jobs, args.steps, args.data, [], threads=1)
        parallel = run_sweep(
            parallel_dir,
            args.jobs,
            args.steps,
            args.data,
            ["hydra/launcher=parallel", f"hydra.launcher.n_jobs={args.parallel}"],
            threads=0,
        )
        train_seq, train_par = training_seconds(sequential_dir), training_seconds(parallel_dir)

    ideal = min(args.parallel, cpu_count(), args.jobs)
    print(f"{args.jobs} jobs x {args.steps} steps on {cpu_count()} cores")
    print(f"sequential (basic launcher, 1 thread):          {sequential:7.1f} s wall  ({train_seq:.1f} s training)")
    print(
        f"parallel (joblib, {args.parallel} jobs, cores//{args.parallel} threads each): "
        f"{parallel:7.1f} s wall  ({train_par:.1f} s training, summed over jobs)"
    )
    print(f"speed-up: {sequential / parallel:.2f}x  (ideal {ideal}x)")


if __name__ == "__main__":
    main()
