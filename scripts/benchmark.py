"""Side-by-side speed of the notebook's loop, the harness's lecture path and its fast paths.

    python scripts/benchmark.py --quick     # throughput only, one round (about a minute quiet)
    python scripts/benchmark.py             # full: 3 rounds, and time to quality over 3 seeds

Throughput: each path trains the lecture's final WaveNet (76,579 parameters) at batch 32
with SGD on one thread, in its own subprocess (so peak memory is its own), in rounds that
alternate the paths; the median of the rounds is reported. Figures that matter are the
ratios against the notebook's own loop (wavenet_harness/reference.py): every worker also
runs that loop just before and after its path, and the ratio is taken inside the worker,
because a shared machine's speed drifts from one minute to the next.

  notebook      the lecture's loop, verbatim (the reference)
  harness       train.train with the lecture-exact model and PlainSGD (experiment=lecture_hier)
  fast          fast=true: fused forward, hand-written backward, one-op SGD
  fast+compile  compile=true: the same, compiled by torch.compile (compile time shown apart)
  conv          model=conv: 32 whole words per step, a prediction at every position
  wavenet, gru, transformer   (only when named in --paths) the model group's defaults
                (conf/model/), 32 whole words per step like conv; not the lecture's model,
                so their ratios compare cost per step, not the same work

GFLOP/s counts matmul FLOPs only (torch.utils.flop_counter over the eager path) and is set
against this machine's single-thread fp32 matmul peak measured in the same run. Memory is
the worker process's peak resident set size (ru_maxrss: Python, torch, data and model
together), and its growth over the RSS just before the model was built.

Time to quality: wall seconds from start (data loading included) until the validation
loss first reaches 1.993 with `experiment=fast`, against the notebook's 200k-step run,
which is estimated as 200,000 / its measured steps/s (not run in full).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# (the package itself comes from the install: the repo root on sys.path would make Hydra load hydra_plugins twice)

TARGET_VAL_LOSS = 1.993
NOTEBOOK_STEPS = 200_000
PATHS = ("notebook", "harness", "fast", "fast+compile", "conv")
ZOO_PATHS = ("wavenet", "gru", "transformer")  # run only when --paths names them
BATCH = 32


# ----------------------------------------------------------------------------- workers


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _load_data():
    from wavenet_harness.data import build_dataset, ensure_names_file, read_words

    path = ensure_names_file(REPO / "data" / "names.txt")
    return build_dataset(read_words(path), 8)


def worker_peak(seconds: float) -> dict:
    """Best single-thread fp32 matmul rate over a few sizes (the machine's practical peak)."""
    import torch

    torch.set_num_threads(1)
    best = 0.0
    for n in (256, 512, 1024):
        a, b = torch.randn(n, n), torch.randn(n, n)
        a @ b
        deadline = time.perf_counter() + seconds / 3
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            for _ in range(4):
                a @ b
            best = max(best, 4 * 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return {"peak_gflops": best}


class _StepTimer:
    """A train.train listener: times steps [warmup, warmup + steps), then stops the run."""

    def __init__(self, warmup: int, steps: int):
        self.warmup, self.end = warmup, warmup + steps
        self.started = self.seconds = None

    def on_train_loss(self, step, loss, lr):
        from wavenet_harness.training.loop import StopTraining

        if step == self.warmup - 1:
            self.started = time.perf_counter()
        elif step == self.end - 1:
            self.seconds = time.perf_counter() - self.started
            raise StopTraining("timed")

    def on_eval(self, step, val_loss):
        pass


def _matmul_flops_per_step(step_fn, steps: int = 5) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        for _ in range(steps):
            step_fn()
    return counter.get_total_flops() / steps


def _notebook_rate(data, steps: int) -> float:
    """steps/s of the notebook's loop, run here as a local reference (its own model and seed)."""
    from wavenet_harness import reference as nb

    model = nb.notebook_hier(data.vocab.size)
    nb.notebook_train(model, data.train.X, data.train.Y, 20)
    start = time.perf_counter()
    nb.notebook_train(model, data.train.X, data.train.Y, steps)
    return steps / (time.perf_counter() - start)


def _harness_path(path: str, data):
    """The model, its optimizer and its batch source for one of the harness's paths."""
    from wavenet_harness.data import WindowBatches
    from wavenet_harness.models.conv import WordBatches, build_conv
    from wavenet_harness.models.fused import FastSequential
    from wavenet_harness.models.tree import build_hier
    from wavenet_harness.training.optim import ForeachSGD, PlainSGD

    batches = WindowBatches(data.train.X, data.train.Y, BATCH)
    if path == "harness":
        model, opt_cls = build_hier(data.vocab.size, 8, 24, 128, 3), PlainSGD
    elif path in ("fast", "fast+compile"):
        model = FastSequential(build_hier(data.vocab.size, 8, 24, 128, 3), compile=path == "fast+compile")
        opt_cls = ForeachSGD
    elif path == "conv":
        model, opt_cls = build_conv(data.vocab.size, 8, 24, 128, 3), PlainSGD
        batches = WordBatches(data.train.words, data.vocab.stoi, 8, BATCH)
    elif path in ZOO_PATHS:
        from wavenet_harness.config import compose_config
        from wavenet_harness.models import build_model_from_config

        cfg = compose_config([f"model={path}"])
        model, opt_cls = build_model_from_config(cfg, data.vocab.size), PlainSGD
        batches = WordBatches(data.train.words, data.vocab.stoi, cfg["block_size"], BATCH)
    else:
        raise SystemExit(f"unknown path {path!r}")
    return model, opt_cls(model.parameters(), lr=0.1), batches


def _notebook_throughput(data, warmup: int, steps: int) -> dict:
    from wavenet_harness import reference as nb

    X, Y = data.train.X, data.train.Y
    model = nb.notebook_hier(data.vocab.size)
    nb.notebook_train(model, X, Y, warmup)
    start = time.perf_counter()
    nb.notebook_train(model, X, Y, steps)
    return {"seconds": time.perf_counter() - start, "samples_per_step": BATCH,
            "flops_per_step": _matmul_flops_per_step(lambda: nb.notebook_train(model, X, Y, 1))}


def _harness_throughput(path: str, data, warmup: int, steps: int) -> dict:
    import torch

    from wavenet_harness.models.fused import FastSequential
    from wavenet_harness.models.tree import build_hier
    from wavenet_harness.training.loop import TrainSettings, train
    from wavenet_harness.training.optim import build_schedule

    torch.manual_seed(42)
    model, optimizer, batches = _harness_path(path, data)
    timer = _StepTimer(warmup, steps)
    total = warmup + steps
    train(model, optimizer, build_schedule("step", 0.1, total), (data.train.X, data.train.Y),
          (data.val.X, data.val.Y), TrainSettings(max_steps=total, batch_size=BATCH), listeners=[timer],
          batches=batches)
    out: dict = {"seconds": timer.seconds, "samples_per_step": BATCH}
    if path == "conv" or path in ZOO_PATHS:
        predictions = sum(len(w) + 1 for w in data.train.words) / len(data.train.words)
        out["samples_per_step"] = BATCH * predictions  # predictions, one per position
    counted = model
    if path == "fast+compile":
        out["compile_seconds"] = model.compile_seconds
        counted = FastSequential(build_hier(data.vocab.size, 8, 24, 128, 3))  # same FLOPs, countable
    out["flops_per_step"] = _matmul_flops_per_step(lambda: counted(*batches.draw())[1].backward())
    return out


def worker_throughput(path: str, warmup: int, steps: int, ref_steps: int = 0) -> dict:
    import torch

    torch.set_num_threads(1)
    data = _load_data()
    # The notebook loop right before and after this path, in the same process: the
    # ratio to it is what survives a shared machine's drifting speed.
    local_ref = [_notebook_rate(data, ref_steps)] if ref_steps and path != "notebook" else []
    baseline = _rss_mb()
    out: dict = {"path": path, "steps": steps}
    if path == "notebook":
        out.update(_notebook_throughput(data, warmup, steps))
    else:
        out.update(_harness_throughput(path, data, warmup, steps))
    out["peak_rss_mb"] = _rss_mb()
    out["rss_growth_mb"] = out["peak_rss_mb"] - baseline
    if local_ref:
        local_ref.append(_notebook_rate(data, ref_steps))
        out["local_notebook_steps_per_s"] = statistics.mean(local_ref)
    return out


def worker_time_to_quality(seed: int, max_seconds: float) -> dict:
    """experiment=fast through run_training (the CLI's path) until val <= target."""
    from wavenet_harness.config import compose_config
    from wavenet_harness.training.job import run_training
    from wavenet_harness.training.loop import StopTraining

    started = time.perf_counter()
    cfg = compose_config(["experiment=fast", f"seed={seed}", "threads=1", "log.progress=false"])
    cfg["data"]["path"] = str(REPO / "data" / "names.txt")

    class Watch:
        reached = None
        evals: list = []

        def on_train_loss(self, step, loss, lr):
            pass

        def on_eval(self, step, val_loss):
            elapsed = time.perf_counter() - started
            self.evals.append((step, round(val_loss, 4), round(elapsed, 1)))
            if self.reached is None and val_loss <= TARGET_VAL_LOSS:
                self.reached = (step, elapsed, val_loss)
            if self.reached is not None or elapsed > max_seconds:
                raise StopTraining("benchmark-done")

    watch = Watch()
    with tempfile.TemporaryDirectory() as run_dir:
        try:
            metrics = run_training(cfg, Path(run_dir), base_dir=REPO, listeners=[watch])
            status = metrics["status"]
        except StopTraining:  # raised from the final evaluation, outside the loop
            status = "benchmark-done"
    return {
        "seed": seed,
        "reached": watch.reached is not None,
        "seconds": watch.reached[1] if watch.reached else None,
        "step": watch.reached[0] if watch.reached else None,
        "val_loss": watch.reached[2] if watch.reached else (watch.evals[-1][1] if watch.evals else None),
        "status": status,
        "evals": watch.evals,
    }


# ------------------------------------------------------------------------------ parent


def _run_worker(args: list[str], timeout: float) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", *args], capture_output=True, text=True, timeout=timeout, cwd=REPO
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"worker {' '.join(args)} failed: {tail[0]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps, one round, no time to quality")
    parser.add_argument("--rounds", type=int, help="throughput rounds (default: 1 quick, 3 full)")
    parser.add_argument("--seeds", type=int, help="time-to-quality seeds (default: 1 quick, 3 full)")
    parser.add_argument("--paths", default=",".join(PATHS),
                        help="comma-separated subset of " + ", ".join(PATHS + ZOO_PATHS))
    parser.add_argument("--no-quality", action="store_true", help="skip the time-to-quality part")
    parser.add_argument("--json", type=Path, help="also write all measurements here")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    return parser.parse_args()


def _as_worker(worker_args: list[str]) -> None:
    """One measurement in this fresh process; its result is the last line on stdout."""
    kind, *rest = worker_args
    if kind == "peak":
        result = worker_peak(float(rest[0]))
    elif kind == "throughput":
        result = worker_throughput(rest[0], int(rest[1]), int(rest[2]), int(rest[3]) if len(rest) > 3 else 0)
    else:
        result = worker_time_to_quality(int(rest[0]), float(rest[1]))
    print(json.dumps(result))


def _measure_throughput(paths: list[str], steps: dict[str, int], rounds: int) -> dict[str, list[dict]]:
    runs: dict[str, list[dict]] = {p: [] for p in paths}
    for r in range(rounds):
        for p in paths:
            runs[p].append(_run_worker(
                ["throughput", p, str(max(20, steps[p] // 10)), str(steps[p]), str(steps["notebook"] // 2)], 1200
            ))
            m = runs[p][-1]
            local = m.get("local_notebook_steps_per_s")
            versus = f"  ({steps[p] / m['seconds'] / local:.2f}x the notebook loop run beside it)" if local else ""
            print(f"  round {r + 1}: {p:13s} {steps[p] / m['seconds']:8.1f} steps/s{versus}", flush=True)
    return runs


def _summarise(runs: dict[str, list[dict]], steps: dict[str, int]) -> dict[str, dict]:
    summary = {}
    for p, measured in runs.items():
        rate = statistics.median(steps[p] / m["seconds"] for m in measured)
        last = measured[-1]
        if p == "notebook":
            ratio = 1.0
        else:  # median over rounds of (this path / the notebook loop run in the same process)
            ratio = statistics.median(steps[p] / m["seconds"] / m["local_notebook_steps_per_s"] for m in measured)
        summary[p] = {
            "ratio": ratio,
            "steps_per_s": rate,
            "samples_per_s": rate * last["samples_per_step"],
            "gflops": rate * last["flops_per_step"] / 1e9,
            "peak_rss_mb": max(m["peak_rss_mb"] for m in measured),
            "rss_growth_mb": max(m["rss_growth_mb"] for m in measured),
            "compile_seconds": last.get("compile_seconds"),
        }
    return summary


def _print_throughput(summary: dict[str, dict], peak: float) -> None:
    rows = []
    for p, s in summary.items():
        rows.append([
            p, f"{s['steps_per_s']:.0f}", f"{s['samples_per_s']:,.0f}", f"{s['gflops']:.2f}",
            f"{100 * s['gflops'] / peak:.1f}%", f"{s['peak_rss_mb']:.0f} (+{s['rss_growth_mb']:.0f})",
            f"{s['ratio']:.2f}x", f"{s['ratio'] * s['samples_per_s'] / s['steps_per_s'] / BATCH:.2f}x",
            f"{s['compile_seconds']:.1f}" if s["compile_seconds"] is not None else "",
        ])
    print(f"\nthroughput at batch {BATCH}, 1 thread; matmul peak measured here: {peak:.1f} GFLOP/s (fp32, 1 thread)")
    word_paths = [p for p in ("conv", *ZOO_PATHS) if p in summary]
    if word_paths:
        print(f"{', '.join(word_paths)}: samples are predictions (every position of {BATCH} words per step)")
    print("ratios: median over rounds of the path's steps/s over the notebook loop's, run in the same worker\n")
    print(_table(rows, ["path", "steps/s", "samples/s", "GFLOP/s", "of peak", "peak RSS MB (+growth)",
                        "steps/s vs notebook", "samples/s vs notebook", "compile s"]))


def _time_to_quality(seeds: int, notebook_steps_per_s: float) -> list[dict]:
    notebook_seconds = NOTEBOOK_STEPS / notebook_steps_per_s
    print(f"\ntime to val loss <= {TARGET_VAL_LOSS} with experiment=fast ({seeds} seed(s)):", flush=True)
    quality = []
    for seed in range(42, 42 + seeds):
        result = _run_worker(["quality", str(seed), str(max(300.0, notebook_seconds))], 3600)
        quality.append(result)
        where = f"step {result['step']}, {result['seconds']:.1f} s" if result["reached"] else "not reached"
        print(f"  seed {seed}: {where} (val {result['val_loss']:.4f})", flush=True)
    reached = [q["seconds"] for q in quality if q["reached"]]
    if reached:
        mean = statistics.mean(reached)
        print(f"\n| run | wall seconds to val <= {TARGET_VAL_LOSS} | vs notebook |\n|---|---|---|")
        print(f"| notebook, 200k steps (estimate: 200,000 / {notebook_steps_per_s:.0f} steps/s) "
              f"| {notebook_seconds:.0f} | 1x |")
        print(f"| experiment=fast, mean of {len(reached)}/{len(quality)} seed(s) | {mean:.1f} "
              f"| {notebook_seconds / mean:.1f}x less |")
    else:
        print("  experiment=fast did not reach the target in this run")
    return quality


def main() -> None:
    args = _parse_args()
    if args.worker:
        _as_worker(args.worker)
        return
    paths = [p for p in args.paths.split(",") if p]
    unknown = [p for p in paths if p not in PATHS + ZOO_PATHS]
    if unknown or "notebook" not in paths:
        print(f"benchmark: --paths must include notebook and use only {', '.join(PATHS + ZOO_PATHS)}", file=sys.stderr)
        sys.exit(2)
    rounds = args.rounds or (1 if args.quick else 3)
    seeds = args.seeds or (1 if args.quick else 3)
    # Timed steps per path: enough for ~5-20 s each on a 2-core machine (the fast paths run more).
    quick_steps = {"notebook": 300, "harness": 400, "fast": 1000, "fast+compile": 1000, "conv": 200,
                   **dict.fromkeys(ZOO_PATHS, 100)}
    full_steps = {"notebook": 1000, "harness": 1500, "fast": 4000, "fast+compile": 4000, "conv": 600,
                  **dict.fromkeys(ZOO_PATHS, 300)}
    steps = quick_steps if args.quick else full_steps

    print(f"benchmark: {'quick' if args.quick else 'full'}, {rounds} round(s), 1 thread, batch {BATCH}", flush=True)
    peak = statistics.median(_run_worker(["peak", "3"], 120)["peak_gflops"] for _ in range(rounds))
    runs = _measure_throughput(paths, steps, rounds)
    summary = _summarise(runs, steps)
    _print_throughput(summary, peak)

    quality = []
    if args.quick and not args.seeds:
        print("\ntime to quality: skipped in --quick (run without it, or add --seeds 1)")
    elif not args.no_quality:
        quality = _time_to_quality(seeds, summary["notebook"]["steps_per_s"])
    if args.json:
        args.json.write_text(json.dumps({"peak_gflops": peak, "runs": runs, "summary": summary, "quality": quality},
                                        indent=2))


if __name__ == "__main__":
    main()
