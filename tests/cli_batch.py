"""Run many `wavenet-train` command lines in one Python process and report each outcome.

Starting the CLI costs ~5 s, nearly all of it importing torch; the error cases each
end in well under a second after that. This driver imports the console script's entry
point once and calls it once per command line, exactly as the `wavenet-train` script
does, recording what a shell would see: the exit code and everything written to
stderr, with an uncaught exception printed as Python prints it (traceback, exit 1).

    python tests/cli_batch.py CASES.json   # [[arg, ...], ...] -> JSON list on stdout

Tests call it through `run_batch`; `assert_one_error_line` is what a user mistake must
look like.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import traceback
from pathlib import Path


def run_batch(cases: list[list[str]], cwd: Path) -> list[dict]:
    """Run each command line in one fresh process; [{args, rc, stderr}] in order."""
    cases_file = cwd / "cli_batch_cases.json"
    cases_file.write_text(json.dumps(cases))
    env = dict(os.environ, HYDRA_FULL_ERROR="0")
    done = subprocess.run([sys.executable, __file__, str(cases_file)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def assert_one_error_line(rc: int, stderr: str, expected: str) -> None:
    """Exit code 2, no traceback, and one line on stderr that says what is wrong."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert rc == 2, stderr
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith("wavenet-train: error: ") and expected in lines[0], lines[0]


def run_case(main, args: list[str]) -> dict:
    sys.argv = ["wavenet-train", *args]
    # The entry point sets HYDRA_FULL_ERROR for itself; each case starts from the caller's.
    os.environ.clear()
    os.environ.update(BASE_ENV)
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

    BASE_ENV = dict(os.environ)
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    results = [run_case(entry_point, args) for args in cases]
    # The real stdout was kept aside for this: one JSON document, nothing else.
    sys.stdout.write(json.dumps(results))
