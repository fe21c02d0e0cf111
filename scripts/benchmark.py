"""How long a person waits for `wavenet-train`, against the notebook's own loop, measured in one run.

    python scripts/benchmark.py --quick       # every path end to end, short runs, one round
    python scripts/benchmark.py               # 20,000 steps per path, 3 interleaved rounds
    python scripts/benchmark.py --quality     # experiment=fast to val <= 1.993, 3 seeds
    python scripts/benchmark.py --scale       # steps/s, samples/s, peak memory over model and batch sizes
    python scripts/benchmark.py --eval-share  # evaluation's share of each word family's runs

Fair by construction:
- The reference is the notebook's loop (wavenet_harness/models/reference.py) at its fastest
  thread count on this machine: it is timed at 1 thread and at every core, and the
  faster one is used for everything after.
- Every harness path is run end to end through the real CLI in a subprocess
  (`wavenet-train ... hydra.run.dir=<tmp>`), and its time is `seconds` from
  metrics.json: training, evaluations (eval_interval 10,000, the lecture's cadence),
  checkpoints and compilation included. The notebook's end-to-end time is its loop plus
  its final train and val split losses, in a subprocess too.
- Beside that, each path's in-process steps/s (timed steps after a warm-up), taken in
  a worker that also runs the notebook loop before and after, so its ratio survives a
  shared machine's drift.
- Paths run in interleaved rounds (the order rotates each round); the median and the
  spread (min-max) over rounds are printed, ratios taken within a round.
- The load average is printed before and after, with a warning when the machine is
  not quiet: ratios measured under load flatter whichever path waits less on memory.

Paths: notebook (the reference), default (the lecture-exact path, bit for bit the
notebook's numbers), fast (fast=true), fast+compile (fast=true compile=true) and conv
(model=conv: batch_size words, a prediction at every position; steps/s and samples/s
both shown, samples being predictions). Only when --paths names them: wavenet, gru and
transformer, the model zoo at its group's defaults, trained on words like conv; not the
lecture's model, so their ratios compare cost, not the same work.

Compile caching: torch.compile (inductor) caches compiled kernels on disk, by default
in /tmp/torchinductor_$USER, or in $TORCHINDUCTOR_CACHE_DIR when set. The first
`compile=true` run of a shape compiles cold (tens of seconds on 2 cores); later runs of
the same shape load from the cache (a few seconds). This script gives the compiled path
a fresh cache directory, reports that first (cold) run's compile time apart, then
measures the rounds with the now warm cache, which is what a user running twice sees.

--quality: `wavenet-train experiment=fast seed=S` for 3 seeds through the CLI; each
run's final val loss over the whole val split and its metrics.json seconds, against 1/15
of the notebook's 200k-step time (200,000 / its best steps/s, plus its evaluation).

--scale: for the notebook, fast and conv paths over n_hidden and batch size, each point
in its own subprocess (so its peak memory is its own): steps/s, samples/s, peak RSS and
its growth over the RSS before the model was built, at the thread count threads=0 picks.
model=conv gets batch / 8 words per step, about as many predictions as `batch` windows.
Prints a markdown table.

--eval-share: what evaluation costs the word families (conv, wavenet, gru, transformer),
whose whole-split losses are scored a word at a time. A 300-step smoke run of each
(`model=X block_size=16 max_steps=300`) end to end through the CLI: its metrics.json
`eval_seconds` against its `seconds`. Each shipped preset (tuned, tuned_wavenet, tuned_gru,
tuned_transformer) is too long to run here whole, so two 1000-step probes of it through the
CLI give its parts: seconds per training step, the cost of one val evaluation (from the
probe evaluating every 100 steps against the one evaluating only at the end) and of the
final train-split evaluation; the preset's share is computed from them at its own
max_steps and eval_interval.

This file is a script: nothing imports it, and it imports no tests.

From a checkout only: scripts/ is not part of the installed package (not in the wheel);
run it from the repository's root with the package installed (pip install -e .).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# (the package itself comes from the install: the repo root on sys.path would make Hydra load hydra_plugins twice)
DATA = REPO / "data" / "names.txt"
CORES = os.cpu_count() or 1
TARGET_VAL_LOSS = 1.993
NOTEBOOK_STEPS = 200_000
QUALITY_FACTOR = 15
QUIET_LOAD = 0.5  # 1-minute load average above which the machine is not quiet
CONV_WINDOWS_PER_WORD = 8  # --scale: model=conv gets batch / 8 words (names.txt: ~7.3 predictions a word)
PATHS = {  # path -> wavenet-train overrides (the lecture's model, batch 32, SGD)
    "default": [],
    "fast": ["fast=true"],
    "fast+compile": ["fast=true", "compile=true"],
    "conv": ["model=conv"],
}
# The model zoo, run only when --paths names them: each model group's defaults, batch_size
# whole words like conv; not the lecture's model, so their ratios compare cost, not the same work.
ZOO_PATHS = {name: [f"model={name}"] for name in ("wavenet", "gru", "transformer")}
WORD_PATHS = ("conv", *ZOO_PATHS)  # batch counts words; samples are predictions


# ----------------------------------------------------------------------------- workers


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _load_data(block_size: int = 8):
    from wavenet_harness.base.data import build_dataset, ensure_names_file, read_words

    return build_dataset(read_words(ensure_names_file(DATA)), block_size)


def _notebook_rate(data, steps: int, n_hidden: int = 128, batch: int = 32) -> float:
    """steps/s of the notebook's loop (its own model), after a short warm-up."""
    from wavenet_harness.models import reference as nb

    model = nb.notebook_hier(data.vocab.size, n_hidden=n_hidden)
    nb.notebook_train(model, data.train.X, data.train.Y, 3, batch)
    start = time.perf_counter()
    nb.notebook_train(model, data.train.X, data.train.Y, steps, batch)
    return steps / (time.perf_counter() - start)


def worker_notebook(threads: int, steps: int, end_to_end: bool) -> dict:
    """The notebook: its loop's steps/s, or (end_to_end) its loop plus its final split losses."""
    import torch

    from wavenet_harness.models import reference as nb

    torch.set_num_threads(threads)
    data = _load_data()
    if not end_to_end:
        return {"steps_per_s": _notebook_rate(data, steps)}
    start = time.perf_counter()
    model = nb.notebook_hier(data.vocab.size)
    nb.notebook_train(model, data.train.X, data.train.Y, steps)
    losses = [nb.notebook_split_loss(model, split.X, split.Y) for split in (data.train, data.val)]
    return {"seconds": time.perf_counter() - start, "train_loss": losses[0], "val_loss": losses[1]}


class _StepTimer:
    """A training-loop listener: times steps [warmup, warmup + steps), then stops the run."""

    def __init__(self, warmup: int, steps: int):
        self.warmup, self.end = warmup, warmup + steps
        self.started: float | None = None
        self.seconds: float | None = None

    def on_train_loss(self, step, loss, lr):
        from wavenet_harness.training.loop import StopTraining

        if step == self.warmup - 1:
            self.started = time.perf_counter()
        elif step == self.end - 1:
            assert self.started is not None  # step warmup - 1 came first
            self.seconds = time.perf_counter() - self.started
            raise StopTraining("timed")

    def on_metrics(self, step, metrics):
        pass


def _path_setup(path: str, data, n_hidden: int | None = None, batch: int = 32):
    """The model, optimizer and batches a path's `wavenet-train` run builds (n_hidden: the config's unless given)."""
    import torch

    from wavenet_harness.adapter.config import load_run_config
    from wavenet_harness.models import build_run_model, run_batches
    from wavenet_harness.training.optim import build_run_optimizer

    shape = [f"n_hidden={n_hidden}"] if n_hidden is not None else []
    config = load_run_config([*{**PATHS, **ZOO_PATHS}[path], *shape, f"batch_size={batch}"])
    torch.manual_seed(42)
    model = build_run_model(config, data.vocab.size)
    batches = run_batches(config, data, (data.train.X, data.train.Y))
    return model, build_run_optimizer(config, model), batches


def _path_rate(path: str, data, steps: int, n_hidden: int | None = None, batch: int = 32) -> float:
    """steps/s of a harness path through the training loop, after 10% warm-up steps."""
    from wavenet_harness.training.loop import TrainSettings, train
    from wavenet_harness.training.schedules import build_schedule

    model, optimizer, batches = _path_setup(path, data, n_hidden, batch)
    warmup = max(2, steps // 10)
    timer = _StepTimer(warmup, steps)
    train(
        model,
        optimizer,
        build_schedule("step", 0.1, warmup + steps),
        (data.train.X, data.train.Y),
        (data.val.X, data.val.Y),
        TrainSettings(max_steps=warmup + steps, batch_size=batch),
        listeners=[timer],
        batches=batches,
    )
    assert timer.seconds is not None, "the run ended before the timed steps did"
    return steps / timer.seconds


def worker_steps(path: str, steps: int, ref_steps: int) -> dict:
    """A path's in-process steps/s at 1 thread, with the notebook loop run before and after it."""
    import torch

    torch.set_num_threads(1)
    data = _load_data()
    before = _notebook_rate(data, ref_steps)
    rate = _path_rate(path, data, steps)
    after = _notebook_rate(data, ref_steps)
    return {"steps_per_s": rate, "local_notebook_steps_per_s": (before + after) / 2}


def worker_scale(path: str, n_hidden: int, batch: int, seconds: float) -> dict:
    """One point of --scale: steps/s for about `seconds`, peak RSS, at the threads=0 choice."""
    import torch

    from wavenet_harness.training.device import auto_threads

    data = _load_data()
    baseline = _rss_mb()
    probe = _path_setup("fast", data, n_hidden, 1)[0]
    params = sum(p.numel() for p in probe.parameters())
    if path == "conv":  # batch counts words, each about 8 windows: as many predictions as `batch` windows
        batch = max(1, batch // CONV_WINDOWS_PER_WORD)
    rows = batch * (CONV_WINDOWS_PER_WORD if path == "conv" else 1)  # as job._threads counts them
    threads = auto_threads(params, rows)
    torch.set_num_threads(threads)
    steps, rate = 2, 0.0
    while True:  # double the steps until the timed part lasts `seconds`
        rate = (
            _notebook_rate(data, steps, n_hidden, batch)
            if path == "notebook"
            else _path_rate(path, data, steps, n_hidden, batch)
        )
        if steps / rate >= seconds or steps >= 4096:
            break
        steps = min(4096, max(steps * 2, int(steps * seconds / (steps / rate) * 1.2)))
    samples = batch * (sum(len(w) + 1 for w in data.train.words) / len(data.train.words) if path == "conv" else 1)
    return {
        "path": path,
        "n_hidden": n_hidden,
        "batch": batch,
        "params": params,
        "threads": threads,
        "steps_per_s": rate,
        "samples_per_s": rate * samples,
        "peak_rss_mb": _rss_mb(),
        "rss_growth_mb": _rss_mb() - baseline,
    }


# ------------------------------------------------------------------------------ parent


def _run_worker(args: list[str], timeout: float = 1800) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", *args], capture_output=True, text=True, timeout=timeout, cwd=REPO
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"worker {' '.join(args)} failed: {tail[0]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _as_worker(args: list[str]) -> None:
    """One measurement in this fresh process; its result is the last line on stdout."""
    kind, *rest = args
    if kind == "notebook":
        result = worker_notebook(int(rest[0]), int(rest[1]), rest[2] == "e2e")
    elif kind == "steps":
        result = worker_steps(rest[0], int(rest[1]), int(rest[2]))
    else:
        result = worker_scale(rest[0], int(rest[1]), int(rest[2]), float(rest[3]))
    print(json.dumps(result))


def run_cli(overrides: list[str]) -> dict:
    """`wavenet-train` end to end in a subprocess; its metrics.json."""
    with tempfile.TemporaryDirectory() as run_dir:
        command = ["wavenet-train", f"data.path={DATA}", "log.progress=false", f"hydra.run.dir={run_dir}", *overrides]
        proc = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
        metrics_file = Path(run_dir) / "metrics.json"
        if proc.returncode != 0 or not metrics_file.exists():
            tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
            raise RuntimeError(f"{' '.join(command)} failed: {tail[0]}")
        return json.loads(metrics_file.read_text())


def _table(rows: list[list], header: list[str]) -> str:
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def _spread(values: list[float], fmt: str = "{:.2f}") -> str:
    """median (min-max), or the one value."""
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def check_load(when: str, own: float = 0.0) -> float:
    """Print the load average; warn when it is above QUIET_LOAD plus `own`, the load this
    benchmark itself puts on the machine (after a run: its last worker, about one process)."""
    load1, load5, _ = os.getloadavg()
    print(f"load average {when}: {load1:.2f} (1 min), {load5:.2f} (5 min) on {CORES} cores", flush=True)
    if load1 > QUIET_LOAD + own:
        print(
            f"WARNING: the machine is not quiet (1-min load {load1:.2f} > {QUIET_LOAD + own:.1f}"
            f"{', this benchmark included' if own else ''}); these figures are indicative only",
            flush=True,
        )
    return load1


def best_notebook_threads(steps: int, rounds: int) -> tuple[int, dict[int, float]]:
    """The notebook loop's steps/s at 1 thread and at every core (median of rounds); the faster count."""
    counts = sorted({1, CORES})
    rates: dict[int, list[float]] = {t: [] for t in counts}
    for _ in range(rounds):
        for t in counts:
            rates[t].append(_run_worker(["notebook", str(t), str(steps), "rate"])["steps_per_s"])
    medians = {t: statistics.median(r) for t, r in rates.items()}
    best = max(medians, key=lambda t: medians[t])
    print(
        "notebook loop steps/s by threads: "
        + ", ".join(f"{t}: {_spread(r, '{:.0f}')}" for t, r in rates.items())
        + f" -> reference at {best} thread(s)",
        flush=True,
    )
    return best, medians


def cold_compile(cache_dir: str) -> float:
    """One compile=true run with the still empty inductor cache (which it fills): its compile seconds."""
    metrics = run_cli([*PATHS["fast+compile"], "max_steps=200", "eval_interval=0", "checkpoint_interval=0"])
    print(
        f"fast+compile, cold cache: compile {metrics.get('compile_seconds', 0):.1f} s "
        f"(TORCHINDUCTOR_CACHE_DIR={cache_dir}); the rounds below use it warm",
        flush=True,
    )
    return metrics.get("compile_seconds", 0.0)


def end_to_end_round(r: int, paths: list[str], steps: int, threads: int) -> dict[str, dict]:
    """One round: the notebook and each path end to end, in an order rotated by the round number."""
    order = ["notebook", *paths]
    order = order[r % len(order) :] + order[: r % len(order)]
    cadence = [f"max_steps={steps}", f"eval_interval={min(10_000, steps // 2)}"]
    out = {}
    for path in order:
        if path == "notebook":
            out[path] = _run_worker(["notebook", str(threads), str(steps), "e2e"])
        else:
            out[path] = run_cli([*{**PATHS, **ZOO_PATHS}[path], *cadence])
        extra = f", compile {out[path]['compile_seconds']:.1f} s" if "compile_seconds" in out[path] else ""
        print(
            f"  round {r + 1}: {path:13s} {out[path]['seconds']:7.1f} s end to end "
            f"(val {out[path]['val_loss']:.4f}{extra})",
            flush=True,
        )
    return out


def steps_round(r: int, paths: list[str], steps: dict[str, int]) -> dict[str, dict]:
    """One round of in-process steps/s, each path beside the notebook loop in its own worker."""
    out = {}
    for path in paths:
        out[path] = _run_worker(["steps", path, str(steps[path]), str(steps["notebook"])])
        m = out[path]
        print(
            f"  round {r + 1}: {path:13s} {m['steps_per_s']:7.0f} steps/s in process "
            f"({m['steps_per_s'] / m['local_notebook_steps_per_s']:.2f}x the notebook loop beside it)",
            flush=True,
        )
    return out


def print_speed(paths: list[str], e2e: list[dict], inproc: list[dict], steps: int, samples_per_word: float) -> None:
    """The speed table: end-to-end seconds and ratio, in-process steps/s and ratio, per path."""
    nb_seconds = [rnd["notebook"]["seconds"] for rnd in e2e]
    rows = [
        [
            "notebook",
            _spread(nb_seconds, "{:.1f}"),
            _spread([steps / s for s in nb_seconds], "{:.0f}"),
            "1.00x",
            "",
            "1.00x",
            "",
        ]
    ]
    for path in paths:
        seconds = [rnd[path]["seconds"] for rnd in e2e]
        ratios = [rnd["notebook"]["seconds"] / rnd[path]["seconds"] for rnd in e2e]
        rate = [m[path]["steps_per_s"] for m in inproc]
        in_ratio = [m[path]["steps_per_s"] / m[path]["local_notebook_steps_per_s"] for m in inproc]
        compile_s = [rnd[path].get("compile_seconds") for rnd in e2e if rnd[path].get("compile_seconds") is not None]
        samples = f" ({statistics.median(ratios) * samples_per_word:.2f}x samples/s)" if path in WORD_PATHS else ""
        rows.append(
            [
                path,
                _spread(seconds, "{:.1f}"),
                _spread([steps / s for s in seconds], "{:.0f}"),
                _spread(ratios) + "x" + samples,
                _spread(rate, "{:.0f}"),
                _spread(in_ratio) + "x",
                _spread(compile_s, "{:.1f}") if compile_s else "",
            ]
        )
    print(
        f"\n{steps:,} steps, batch 32, SGD, the lecture's WaveNet; end to end = metrics.json seconds "
        "(notebook: loop + final split losses); median (min-max) over rounds\n"
    )
    print(
        _table(
            rows,
            [
                "path",
                "end-to-end s",
                "steps/s e2e",
                "vs notebook e2e",
                "steps/s in process",
                "vs notebook in process",
                "compile s (warm)",
            ],
        )
    )


def speed(args: argparse.Namespace) -> None:
    """The default mode: every path end to end and in process against the notebook at its best threads."""
    paths = [p for p in args.paths.split(",") if p]
    rounds = args.rounds or (1 if args.quick else 3)
    steps = args.steps or (2000 if args.quick else 20_000)
    threads, _ = best_notebook_threads(300 if args.quick else 1000, rounds)
    # A fresh inductor cache for every process this run starts: cold once, then warm.
    cache_dir = os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="benchmark-inductor-")
    if "fast+compile" in paths:
        cold_compile(cache_dir)
    inproc_steps = {
        "notebook": 300,
        "default": 600,
        "fast": 1500,
        "fast+compile": 1500,
        "conv": 300,
        **dict.fromkeys(ZOO_PATHS, 100),
    }
    if not args.quick:
        inproc_steps = {path: n * 3 for path, n in inproc_steps.items()}
    e2e, inproc = [], []
    for r in range(rounds):
        e2e.append(end_to_end_round(r, paths, steps, threads))
        inproc.append(steps_round(r, paths, inproc_steps))
    data = _load_data()
    samples_per_word = sum(len(w) + 1 for w in data.train.words) / len(data.train.words)
    print_speed(paths, e2e, inproc, steps, samples_per_word)
    if args.json:
        args.json.write_text(json.dumps({"notebook_threads": threads, "end_to_end": e2e, "in_process": inproc}))


def quality(args: argparse.Namespace) -> None:
    """experiment=fast over seeds, end to end, against 1/15 of the notebook's 200k-step time."""
    seeds = args.seeds or (1 if args.quick else 3)
    threads, rates = best_notebook_threads(1000, 1 if args.quick else 3)
    eval_seconds = _run_worker(["notebook", str(threads), "1", "e2e"])["seconds"]  # one step + its split losses
    notebook_seconds = NOTEBOOK_STEPS / rates[threads] + eval_seconds
    budget = notebook_seconds / QUALITY_FACTOR
    print(
        f"notebook, 200k steps: {notebook_seconds:.0f} s (200,000 / {rates[threads]:.0f} steps/s at {threads} "
        f"thread(s) + {eval_seconds:.1f} s for its split losses); budget 1/{QUALITY_FACTOR}: {budget:.1f} s",
        flush=True,
    )
    rows = []
    for seed in range(42, 42 + seeds):
        m = run_cli(["experiment=fast", f"seed={seed}"])
        ok = m["val_loss"] <= TARGET_VAL_LOSS and m["seconds"] <= budget
        rows.append(
            [
                seed,
                f"{m['val_loss']:.4f}",
                f"{m['seconds']:.1f}",
                f"{notebook_seconds / m['seconds']:.1f}x",
                "yes" if ok else "no",
            ]
        )
        print(f"  seed {seed}: val {m['val_loss']:.4f} in {m['seconds']:.1f} s", flush=True)
    print("\nexperiment=fast end to end (final val over the whole val split; metrics.json seconds)\n")
    print(
        _table(
            rows,
            [
                "seed",
                "val loss",
                "seconds",
                "less than the notebook's 200k",
                f"val <= {TARGET_VAL_LOSS} within {budget:.1f} s",
            ],
        )
    )


def scale(args: argparse.Namespace) -> None:
    """--scale: a markdown table of steps/s, samples/s and peak memory per path, n_hidden and batch."""
    hiddens = (64, 1024) if args.quick else (64, 256, 1024)
    batches = (32, 4096) if args.quick else (32, 512, 4096)
    seconds = 0.5 if args.quick else 1.5
    rows, results = [], []
    for n_hidden in hiddens:
        for batch in batches:
            for path in ("notebook", "fast", "conv"):
                m = _run_worker(["scale", path, str(n_hidden), str(batch), str(seconds)])
                results.append(m)
                shown_batch = f"{m['batch']} words" if path == "conv" else batch
                rows.append(
                    [
                        n_hidden,
                        f"{m['params']:,}",
                        shown_batch,
                        path,
                        m["threads"],
                        f"{m['steps_per_s']:,.1f}",
                        f"{m['samples_per_s']:,.0f}",
                        f"{m['peak_rss_mb']:.0f} (+{m['rss_growth_mb']:.0f})",
                    ]
                )
                print(f"  n_hidden {n_hidden}, batch {batch}, {path}: {m['steps_per_s']:.1f} steps/s", flush=True)
    print(
        f"\nconv: batch / {CONV_WINDOWS_PER_WORD} words per step (about as many predictions as `batch` windows); "
        "samples are predictions; memory: the worker's peak RSS MB (+ growth over the RSS before the model)\n"
    )
    print(_table(rows, ["n_hidden", "params", "batch", "path", "threads", "steps/s", "samples/s", "peak RSS MB"]))
    if args.json:
        args.json.write_text(json.dumps(results))


WORD_FAMILIES = ("conv", "wavenet", "gru", "transformer")
SHIPPED_PRESETS = ("tuned", "tuned_wavenet", "tuned_gru", "tuned_transformer")
PROBE_STEPS, PROBE_EVAL_EVERY = 1000, 100


def _preset_lengths(preset: str) -> tuple[int, int]:
    """(max_steps, eval_interval) of a preset, as `wavenet-train --cfg job` composes it."""
    import yaml  # PyYAML comes with hydra-core (omegaconf)

    proc = subprocess.run(
        ["wavenet-train", f"experiment={preset}", "--cfg", "job"], capture_output=True, text=True, cwd=REPO, check=True
    )
    cfg = yaml.safe_load(proc.stdout)
    return int(cfg["max_steps"]), int(cfg["eval_interval"])


def eval_share(args: argparse.Namespace) -> None:
    rows = []
    for name in WORD_FAMILIES:
        m = run_cli([f"model={name}", "block_size=16", "max_steps=300", "checkpoint_interval=0"])
        rows.append(
            [
                f"`model={name} block_size=16`, 300 steps",
                "measured",
                f"{m['seconds']:.1f}",
                f"{m['eval_seconds']:.1f}",
                f"{100 * m['eval_seconds'] / m['seconds']:.1f}%",
            ]
        )
        print(rows[-1], flush=True)
    for preset in SHIPPED_PRESETS:
        max_steps, interval = _preset_lengths(preset)
        probe = [f"experiment={preset}", f"max_steps={PROBE_STEPS}", "checkpoint_interval=0"]
        once = run_cli([*probe, "eval_interval=0"])  # the final val and train evaluations only
        often = run_cli([*probe, f"eval_interval={PROBE_EVAL_EVERY}"])  # + 9 val evaluations
        val_cost = max(often["eval_seconds"] - once["eval_seconds"], 0.0) / (PROBE_STEPS // PROBE_EVAL_EVERY - 1)
        train_cost = max(once["eval_seconds"] - val_cost, 0.0)
        step_cost = (once["seconds"] - once["eval_seconds"]) / PROBE_STEPS
        evals = (max_steps - 1) // interval if interval else 0
        eval_seconds = evals * val_cost + val_cost + train_cost
        total = max_steps * step_cost + eval_seconds
        rows.append(
            [
                f"`experiment={preset}`, {max_steps:,} steps, val every {interval:,}",
                f"from probes: {1000 * step_cost:.1f} ms/step, val {val_cost:.2f} s, train split {train_cost:.2f} s",
                f"{total:.0f}",
                f"{eval_seconds:.1f}",
                f"{100 * eval_seconds / total:.1f}%",
            ]
        )
        print(rows[-1], flush=True)
    print(_table(rows, ["run", "how", "seconds", "evaluation s", "evaluation share"]))


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs, one round (one seed, a small grid)")
    parser.add_argument("--quality", action="store_true", help="time to val <= 1.993 with experiment=fast")
    parser.add_argument("--scale", action="store_true", help="cost over n_hidden and batch size")
    parser.add_argument("--eval-share", action="store_true", help="evaluation's share of each word family's runs")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default: 1 quick, 3 full)")
    parser.add_argument("--steps", type=int, help="end-to-end steps per run (default: 2000 quick, 20000 full)")
    parser.add_argument("--seeds", type=int, help="--quality seeds (default: 1 quick, 3 full)")
    parser.add_argument(
        "--paths",
        default=",".join(PATHS),
        help="comma-separated, from " + ", ".join([*PATHS, *ZOO_PATHS]) + " (default: the first four)",
    )
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = _parse_args()
    if args.worker:
        return _as_worker(args.worker)
    unknown = [p for p in args.paths.split(",") if p and p not in {**PATHS, **ZOO_PATHS}]
    if unknown:
        sys.exit(f"benchmark: unknown path(s) {', '.join(unknown)}; choose from {', '.join([*PATHS, *ZOO_PATHS])}")
    started = time.perf_counter()
    check_load("before")
    mode = quality if args.quality else scale if args.scale else eval_share if args.eval_share else speed
    mode(args)
    print(f"\n({time.perf_counter() - started:.0f} s wall)")
    check_load("after", own=1.0)


if __name__ == "__main__":
    main()
