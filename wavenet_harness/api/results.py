"""What runs and sweeps left behind, as Python objects: Run, Sweep, load_run, load_runs.

A Run is a run directory (what `wavenet-train` or `train()` made) read on demand: every
property reads the folder again, so a Run of a run still training, or resumed since, says
what is there now. Its numbers and files come from the layers the CLI's tools use:
metrics.json through base/records.py (wavenet-report), the checkpoint through
tracking/trained.py (wavenet-sample, wavenet-eval: the same words and losses), the
TensorBoard events through tracking/curves.py. A Sweep is a sweep folder, its table
the one `wavenet-report` prints (tracking/report.py).
"""

from __future__ import annotations

import os
import re
import typing
from pathlib import Path
from typing import Any

from wavenet_harness.api import views
from wavenet_harness.api.session import user_errors_in_one_line
from wavenet_harness.base.errors import RunDirError, UserError
from wavenet_harness.base.records import CHECKPOINT_NAME, HYDRA_DIR, RunRecord, is_job_dir
from wavenet_harness.base.records import load_run as load_record
from wavenet_harness.base.records import load_runs as load_records
from wavenet_harness.base.run_config import RunConfig
from wavenet_harness.models.sampling import DEFAULT_MAX_LEN
from wavenet_harness.tracking import curves, report
from wavenet_harness.tracking.trained import (
    check_sampling,
    load_trained_run,
    python_argument,
    sample_words,
    split_loss,
)


class Interrupted(KeyboardInterrupt):
    """A run or sweep stopped on Ctrl-C (or stop()) after saving its checkpoints. A
    KeyboardInterrupt, so that it ends the cell (and a notebook's "run all") as Ctrl-C would;
    `.run` or `.sweep` holds what it left, the message says how to resume it."""

    def __init__(self, message: str, run: Run | None = None, sweep: Sweep | None = None):
        super().__init__(message)
        self.run = run
        self.sweep = sweep


def _absolute(path: str | os.PathLike) -> Path:
    return Path(os.path.abspath(os.fspath(path)))


def shown_path(path: Path) -> str:
    """A path relative to the current folder when it lies inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class Run:
    """One run directory: its record, config, curves and trained model."""

    def __init__(self, run_dir: str | os.PathLike):
        self.dir = _absolute(run_dir)

    def __repr__(self) -> str:
        record = self.record
        numbers = "".join(
            f", {name}={value:.4f}"
            for name, value in (("val_loss", record.val_loss), ("train_loss", record.train_loss))
            if isinstance(value, float)
        )
        return f"Run({shown_path(self.dir)!r}, status={record.status!r}{numbers}, steps={record.steps})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.dir == self.dir

    def __hash__(self) -> int:
        return hash(self.dir)

    @property
    def record(self) -> RunRecord:
        """metrics.json as base/records.py reads it (status "missing" before it exists)."""
        return load_record(self.dir)

    @property
    def status(self) -> str:
        """ok, diverged, interrupted, pruned, failed, running or missing."""
        return self.record.status

    @property
    def val_loss(self) -> float | None:
        return self.record.val_loss

    @property
    def train_loss(self) -> float | None:
        return self.record.train_loss

    @property
    def steps(self) -> int | None:
        return self.record.steps

    @property
    def config(self) -> RunConfig:
        """The typed config the run trained with: its checkpoint's, else .hydra/config.yaml's."""
        if (self.dir / CHECKPOINT_NAME).is_file():
            return load_trained_run(self.dir).config
        saved = self.dir / HYDRA_DIR / "config.yaml"
        if not saved.is_file():
            raise RunDirError(f"{self.dir} holds neither a checkpoint nor .hydra/config.yaml: no config to read")
        from omegaconf import OmegaConf

        from wavenet_harness.adapter.config import typed_config

        plain = typing.cast(dict[str, Any], OmegaConf.to_container(OmegaConf.load(saved), resolve=False))
        return typed_config(plain)

    @property
    def model(self):
        """The trained torch module (the plain layers, weights from the checkpoint; the
        weight average with ema_decay), in eval mode."""
        return load_trained_run(self.dir).model().eval()

    def curves(self) -> Any:
        """Every logged scalar (tag, step, value, wall_time), by tag then step: a pandas
        DataFrame where pandas is installed, else a list of dicts."""
        return views.frame([row._asdict() for row in curves.scalars(self.dir)])

    def sample(
        self,
        n: int = 10,
        temperature: float = 1.0,
        top_k: int | None = None,
        seed: int = 42,
        prefix: str = "",
        max_len: int = DEFAULT_MAX_LEN,
    ) -> list[str]:
        """`n` words from the trained model: `wavenet-sample RUN -n N --seed S ...`'s words."""
        check_sampling(n, temperature, top_k, seed, max_len, prefix, _argument)
        return sample_words(load_trained_run(self.dir), n, temperature, top_k, seed, prefix, max_len, _argument)

    def evaluate(self, split: str = "val", data: str | os.PathLike | None = None) -> float:
        """The mean loss per character on one split (train, val or test): `wavenet-eval RUN
        --split SPLIT`'s number. `data`: the words file, if not where data.path says."""
        return split_loss(load_trained_run(self.dir), split, None if data is None else os.fspath(data))["loss"]

    def plot(self, ax: Any = None) -> Any:
        """The lecture's loss plot: the train loss's means over log.smooth_window steps
        (loss/train_smooth) and the val loss, against steps; returns the matplotlib Axes."""
        return views.plot_run(self.dir, shown_path(self.dir), ax)


def _argument(name: str, *value: Any) -> str:
    """Run.sample's arguments as a call writes them (its `n` is the CLI's --num)."""
    return python_argument("n" if name == "num" else name, *value)


@user_errors_in_one_line
def load_run(run_dir: str | os.PathLike) -> Run:
    """The run in `run_dir` (a folder `wavenet-train` or train() made); RunDirError if it is none."""
    path = _absolute(run_dir)
    if not path.is_dir():
        raise RunDirError(f"{run_dir} is not a folder; give a run directory (runs/<date>/<time>-<token>)")
    if not (is_job_dir(path) or (path / CHECKPOINT_NAME).is_file()):
        raise RunDirError(f"{run_dir} holds no run (no metrics.json, .hydra/ or checkpoint.pt)")
    return Run(path)


@user_errors_in_one_line
def load_runs(root: str | os.PathLike = "runs") -> list[Run]:
    """Every run under `root` (single runs and sweep jobs), in path order."""
    path = _absolute(root)
    if not path.is_dir():
        raise RunDirError(f"{root} is not a folder; give the folder that holds the runs (runs/)")
    return [Run(record.run_dir) for record in sorted(load_records(path), key=lambda r: _natural_key(str(r.run_dir)))]


def _natural_key(text: str) -> list:
    """'.../10' after '.../9': numbers compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


class Sweep:
    """One sweep or search folder: its jobs as Runs, the best, and wavenet-report's table."""

    def __init__(self, sweep_dir: str | os.PathLike):
        self.dir = _absolute(sweep_dir)

    def __repr__(self) -> str:
        runs = [run.record for run in self.runs]
        counts = ", ".join(f"{n} {status}" for status, n in _counts(runs).items())
        best = self.best
        shown = f"; best val {best.val_loss:.4f} ({best.dir.name})" if best is not None else ""
        return f"Sweep({shown_path(self.dir)!r}, {len(runs)} jobs: {counts or 'none yet'}{shown})"

    @property
    def runs(self) -> list[Run]:
        """The jobs, in job order (0, 1, ..., 10)."""
        return [Run(record.run_dir) for record in load_records(self.dir, jobs_of_sweep=True)]

    @property
    def best(self) -> Run | None:
        """The finished job with the lowest val loss (None while there is none)."""
        try:
            best = report.build_report(self.dir)["best"]
        except UserError:
            return None
        return Run(self.dir / best["job"]) if best else None

    def table(self) -> Any:
        """wavenet-report's table: one row per job (the overrides that differ, status, steps,
        seconds, params, losses), finished jobs first by val loss. A pandas DataFrame where
        pandas is installed, else a list of dicts."""
        return views.frame(report.build_report(self.dir)["jobs"])

    def plot(self, ax: Any = None) -> Any:
        """Every job's val loss against steps, one line each, labelled by what sets it apart."""
        jobs = report.rank(report.find_jobs(self.dir))
        keys = report.distinguishing_keys(jobs)
        labelled = [
            (job.run_dir, " ".join(f"{k}={job.override_values().get(k, '-')}" for k in keys) or job.name)
            for job in jobs
        ]
        return views.plot_sweep(labelled, shown_path(self.dir), ax)


def _counts(records: list[RunRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        counts[record.status] = counts.get(record.status, 0) + 1
    return counts
