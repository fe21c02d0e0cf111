"""What the tests share: tiny made-up words, their settings, and one way to run the console scripts.

Importable as `helpers` (pyproject.toml puts tests/ on pytest's pythonpath). The `cli`
fixture (conftest.py) hands out a `CliRunner`:
  cli(args, cwd, entry="wavenet-train")   the real console script in a subprocess, as a user runs it
  cli.start(args, cwd)                    the same, not waited for (Ctrl-C and kill tests)
  cli.in_process(entry, argv)             the script's main(argv) in this process: no torch import to wait for
  cli.batch(cases, cwd)                   many wavenet-train command lines in one fresh process

Run as a script, this file is the driver behind `cli.batch`:
    python tests/helpers.py CASES.json   # [[arg, ...], ...] -> JSON list on stdout
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

TINY_WORDS = [
    "emma",
    "olivia",
    "ava",
    "isabella",
    "sophia",
    "mia",
    "amelia",
    "harper",
    "evelyn",
    "abigail",
    "emily",
    "ella",
    "elizabeth",
    "camila",
    "luna",
    "sofia",
    "avery",
    "mila",
    "aria",
    "scarlett",
]

TINY_OVERRIDES = [
    "max_steps=60",
    "batch_size=8",
    "n_embd=4",
    "n_hidden=8",
    "eval_interval=20",
    "checkpoint_interval=0",
    "log.progress=false",
    "log.smooth_window=25",
    "threads=1",
]

# Console script -> module whose main(argv) it runs (as pyproject.toml's [project.scripts]).
ENTRY_POINTS = {
    "wavenet-train": "wavenet_harness.cli.train",
    "wavenet-sample": "wavenet_harness.cli.sample",
    "wavenet-report": "wavenet_harness.cli.report",
    "wavenet-eval": "wavenet_harness.cli.eval",
    "wavenet-study": "wavenet_harness.cli.study",
}


def write_tiny_words(folder: Path) -> Path:
    """A made-up words file: small enough that a training step takes microseconds."""
    path = folder / "words.txt"
    path.write_text("\n".join(TINY_WORDS) + "\n")
    return path


def compose(*overrides: str) -> dict:
    """The plain config `wavenet-train <overrides>` composes (not yet checked)."""
    from wavenet_harness.adapter.config import compose_config

    return compose_config(list(overrides))


def run_config(*overrides: str):
    """The typed, checked RunConfig `wavenet-train <overrides>` would run."""
    from wavenet_harness.adapter.config import load_run_config

    return load_run_config(list(overrides))


def read_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def make_run(root: Path, name: str, overrides: list[str], **metrics) -> Path:
    """A hand-made run folder: Hydra's saved overrides and, given numbers, a metrics.json."""
    run_dir = root / name
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if metrics:
        (run_dir / "metrics.json").write_text(json.dumps(metrics))
    return run_dir


def numbers(val_loss=None, status="ok"):
    """metrics.json numbers of a hand-made run."""
    return dict(
        status=status,
        steps=100,
        seconds=1.5,
        params=641,
        train_loss=None if val_loss is None else val_loss - 0.1,
        val_loss=val_loss,
    )


def assert_identical(a, b, where: str) -> None:
    """Nested dicts/lists of tensors and plain values, equal bit for bit."""
    import torch  # only the checkpoint tests need it; the CLI helpers stay light

    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_identical(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_identical(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def assert_one_error_line(rc: int, stderr: str, expected: str, prog: str = "wavenet-train") -> None:
    """Exit code 2, no traceback, and one line on stderr that says what is wrong."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert rc == 2, stderr
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"{prog}: error: ") and expected in lines[0], lines[0]


@dataclass
class CliResult:
    returncode: int | str | None  # in_process: SystemExit's code as raised (an int from this project's scripts)
    stdout: str
    stderr: str

    def __iter__(self):  # code, out, err = cli.in_process(...)
        return iter((self.returncode, self.stdout, self.stderr))


def _cli_env() -> dict[str, str]:
    return dict(os.environ, HYDRA_FULL_ERROR="0", PYTHONUNBUFFERED="1")


class CliRunner:
    """The one way tests run this project's console scripts (see the module docstring)."""

    def __call__(self, args: list[str], cwd: Path, entry: str = "wavenet-train", timeout: float = 300) -> CliResult:
        done = subprocess.run(
            [entry, *map(str, args)], cwd=cwd, env=_cli_env(), capture_output=True, text=True, timeout=timeout
        )
        return CliResult(done.returncode, done.stdout, done.stderr)

    def start(self, args: list[str], cwd: Path, entry: str = "wavenet-train", **popen) -> subprocess.Popen:
        popen = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **popen}
        return subprocess.Popen([entry, *map(str, args)], cwd=cwd, env=popen.pop("env", _cli_env()), text=True, **popen)

    def in_process(self, entry: str, argv: list[str]) -> CliResult:
        """main(argv) of a console script here, its output captured: (exit code, stdout, stderr)."""
        main = importlib.import_module(ENTRY_POINTS[entry]).main
        out, err = io.StringIO(), io.StringIO()
        code: int | str | None = 0  # what the script exits with: SystemExit's code as raised
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main([str(a) for a in argv])
            except SystemExit as stop:
                code = stop.code
        return CliResult(code, out.getvalue(), err.getvalue())

    def batch(self, cases: list[list[str]], cwd: Path) -> list[dict]:
        """Each wavenet-train command line in turn, in one fresh process: [{args, rc, stderr}].

        Starting the CLI costs seconds, nearly all of it importing torch; error cases end in
        well under a second after that, so they share one process.
        """
        cases_file = cwd / "cli_batch_cases.json"
        cases_file.write_text(json.dumps(cases))
        env = dict(os.environ, HYDRA_FULL_ERROR="0")
        done = subprocess.run(
            [sys.executable, __file__, str(cases_file)], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout)


def _run_case(main, args: list[str], base_env: dict[str, str]) -> dict:
    """One command line as the `wavenet-train` script runs it; what a shell would see."""
    sys.argv = ["wavenet-train", *args]
    # The entry point sets HYDRA_FULL_ERROR for itself; each case starts from the caller's.
    os.environ.clear()
    os.environ.update(base_env)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            main()
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except BaseException:  # what the interpreter does with an uncaught exception
            traceback.print_exc()
            code = 1
    return {"args": args, "rc": code, "stderr": stderr.getvalue()}


if __name__ == "__main__":
    from wavenet_harness.cli.train import main as entry_point

    base_env = dict(os.environ)
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    results = [_run_case(entry_point, args, base_env) for args in cases]
    # The real stdout was kept aside for this: one JSON document, nothing else.
    sys.stdout.write(json.dumps(results))
