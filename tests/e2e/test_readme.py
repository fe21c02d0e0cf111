"""The README and the documentation stay true by construction: every command in their bash blocks runs, shortened.

Commands are read from README.md and then from the documentation pages in mkdocs.yml's
nav order (tests/readme_commands.py), shortened (few steps, one thread, a tiny words file)
and run in that order in a scratch folder, so that examples that build on each other (a
sweep, then its report) do so here too. Only commands whose comment says they need a
cluster, a GPU or a database host are skipped. `pip install` and `pip wheel` lines are checked
against pyproject.toml's extras rather than run, `python3 -m venv` makes its environment in the
scratch folder and `source` must read it cleanly, the test command (`python3 -m pytest`) only
collects, as running the suite inside itself would never end, `mkdocs build` builds the
site into a scratch folder, and `kill <pid>` is sent to a training run started for it.
torch.compile and the scripts/ benchmarks take minutes even when shortened: they run in
the slow suite (`pytest -m slow tests/e2e/test_readme.py`).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import tomllib  # type: ignore[import-not-found]  # Python 3.11+ (mypy checks as 3.10): these tests need 3.11
from readme_commands import ReadmeCommand, Workspace, documented_commands, readme_commands, run_subprocess, shorten

from helpers import ENTRY_POINTS, REPO

README = (REPO / "README.md").read_text()
DRIVER = REPO / "tests" / "readme_commands.py"


def is_slow(argv: list[str]) -> bool:
    return "compile=true" in argv or (
        argv[0].startswith("python") and argv[1:2] != ["-m"] and any(a.startswith("scripts/") for a in argv[1:2])
    )


def plan(ws: Workspace) -> list[tuple[ReadmeCommand, list[str]]]:
    """(README command, shortened argv) in README order; skipped ones have argv []."""
    steps = []
    for command in documented_commands(REPO):
        steps.append((command, [] if command.needs else shorten(command, ws)))
    return steps


def _env(ws: Workspace) -> dict:
    return dict(os.environ, HYDRA_FULL_ERROR="0", PYTHONUNBUFFERED="1", WAVENET_NAMES=str(ws.words))


def run_in_driver(cases: list[list[str]], ws: Workspace) -> list[dict]:
    """Every console-script command in one process (torch is imported once)."""
    cases_file = ws.root / "readme_cases.json"
    cases_file.write_text(json.dumps(cases))
    done = subprocess.run(
        [sys.executable, str(DRIVER), str(cases_file)],
        cwd=ws.root,
        env=_env(ws),
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def check_pip(argv: list[str]) -> dict:
    """`pip install -e ".[a,b]"` (or `pip wheel ...`): the extras it names exist in pyproject.toml."""
    extras = set(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    named = {e for a in argv for group in re.findall(r"\[([^\]]+)\]", a) for e in group.split(",")}
    unknown = named - extras
    return {
        "argv": argv,
        "rc": 1 if unknown or argv[:2] not in (["pip", "install"], ["pip", "wheel"]) else 0,
        "stdout": "",
        "stderr": f"unknown extras: {sorted(unknown)}" if unknown else "",
    }


def check_tensorboard(argv: list[str], ws: Workspace) -> dict:
    """`tensorboard --logdir X`: X holds event files TensorBoard can read."""
    result = run_subprocess([shutil.which("tensorboard") or "tensorboard", "--inspect", *argv[1:]], timeout=120)
    if "No event files found" in result["stdout"] + result["stderr"]:
        result["rc"] = 1
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_optuna_dashboard(argv: list[str]) -> dict:
    """`optuna-dashboard STORAGE`: it serves the study's page on loopback."""
    port = _free_port()
    process = subprocess.Popen(
        [shutil.which("optuna-dashboard") or "optuna-dashboard", *argv[1:], "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5) as response:
                    studies = response.read().decode()
                    name = Path(argv[1]).parent.name  # runs/sweeps/<study_name>/optuna.journal
                    return {
                        "argv": argv,
                        "rc": 0 if f'"{name}"' in studies else 1,
                        "stdout": studies[:2000],
                        "stderr": "",
                    }
            except OSError:
                time.sleep(0.5)
        return {"argv": argv, "rc": 1, "stdout": "", "stderr": "optuna-dashboard did not serve"}
    finally:
        process.terminate()
        process.wait(timeout=20)


def check_kill(argv: list[str], ws: Workspace) -> dict:
    """`kill <pid>` (or `kill -USR1 <pid>`) of a training run: it stops as interrupted, with
    its checkpoint, and exits with 128 + the signal's number."""
    run_dir = ws.root / "runs" / "readme-killed"
    process = subprocess.Popen(
        [
            "wavenet-train",
            "max_steps=100000000",
            "eval_interval=0",
            "checkpoint_interval=0",
            "threads=1",
            "log.progress=false",
            f"data.path={ws.words}",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=ws.root,
        env=_env(ws),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (run_dir / "metrics.json").exists():
        time.sleep(0.2)
    time.sleep(1.0)  # well into training
    done = subprocess.run([a if a != "<pid>" else str(process.pid) for a in argv], capture_output=True, text=True)
    out, err = process.communicate(timeout=120)
    signal_number = 10 if "-USR1" in argv else 15
    metrics = json.loads((run_dir / "metrics.json").read_text()) if (run_dir / "metrics.json").exists() else {}
    ok = done.returncode == 0 and process.returncode == 128 + signal_number and metrics.get("status") == "interrupted"
    return {
        "argv": argv,
        "rc": 0 if ok else 1,
        "stdout": out[-2000:],
        "stderr": f"exit {process.returncode}, status {metrics.get('status')}\n{err[-2000:]}",
    }


def check_mkdocs(argv: list[str], ws: Workspace) -> dict:
    """`mkdocs build --strict`: the site builds from the repository, into a scratch folder."""
    if argv[1:2] != ["build"]:
        return {"argv": argv, "rc": 1, "stdout": "", "stderr": "only `mkdocs build` is run here"}
    return run_subprocess(
        [sys.executable, "-m", "mkdocs", *argv[1:], "-f", str(REPO / "mkdocs.yml"), "-d", str(ws.root / "site")],
        timeout=300,
    )


def run_outside(argv: list[str], ws: Workspace) -> dict:
    program = argv[0]
    if program == "mkdocs":
        return check_mkdocs(argv, ws)
    if program == "kill":
        return check_kill(argv, ws)
    if program == "pip":
        return check_pip(argv)
    if program == "tensorboard":
        return check_tensorboard(argv, ws)
    if program == "optuna-dashboard":
        return check_optuna_dashboard(argv)
    if argv[:3] in (["python3", "-m", "pytest"], ["python", "-m", "pytest"]):
        return run_subprocess(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(REPO / "tests")],
            timeout=300,
        )
    if program in ("source", "."):  # a shell builtin: the file it reads must exist and run
        return run_subprocess(["bash", "-c", shlex.join(argv)], timeout=60)
    if program in ("python", "python3") and argv[1:2] in (["-m"], ["-c"]):  # python -m venv, python -c ...
        return run_subprocess([sys.executable, *argv[1:]], timeout=300)
    if program in ("python", "python3"):
        argv = [sys.executable, str(REPO / argv[1]), *argv[2:]]
    return run_subprocess(argv, timeout=1800)


def failures(results: list[dict]) -> list[str]:
    """Each command that did not work: nonzero exit, or a plain sweep with a failed job."""
    bad = []
    for result in results:
        failed_jobs = re.search(r"sweep: \d+ jobs: .*?(\d+) failed", result["stdout"])
        optuna = any(a.startswith(("hparams_search=", "hydra/sweeper=")) for a in result["argv"])
        # A single run that diverges exits 1 by design; docs/troubleshooting.md shows one on purpose.
        diverged_on_purpose = result["rc"] == 1 and "wavenet-train: diverged" in result["stdout"] + result["stderr"]
        if (result["rc"] != 0 and not diverged_on_purpose) or (
            failed_jobs and int(failed_jobs.group(1)) and not optuna
        ):
            bad.append(
                f"{shlex.join(result['argv'])}\n  exit {result['rc']}\n  {result['stderr'][-1500:]}"
                f"\n  {result['stdout'][-800:]}"
            )
    return bad


def run_readme(tmp_path: Path, slow: bool) -> tuple[list[dict], list]:
    ws = Workspace.create(tmp_path)
    steps = plan(ws)
    runnable = [argv for _, argv in steps if argv and is_slow(argv) == slow]
    in_process = [argv for argv in runnable if argv[0] in ENTRY_POINTS]
    outside = [argv for argv in runnable if argv[0] not in ENTRY_POINTS]
    cwd = os.getcwd()
    results = run_in_driver(in_process, ws) if in_process else []
    try:
        os.chdir(ws.root)
        results += [run_outside(argv, ws) for argv in outside]
    finally:
        os.chdir(cwd)
    return results, steps


def test_readme_marks_only_cluster_gpu_and_database_commands_as_skipped():
    commands = documented_commands(REPO)
    assert len(readme_commands(README)) > 10 and len(commands) > 60
    assert {c.source for c in commands} >= {"README.md", "docs/sweeps.md", "docs/tuning.md"}
    skipped = [c for c in commands if c.needs]
    assert skipped and all(c.needs.lower() in ("slurm cluster", "cluster", "gpu", "database host") for c in skipped)
    assert any(c.argv[0] == "wavenet-train" and "--multirun" in c.argv for c in commands)


def test_every_readme_command_runs_shortened(tmp_path):
    results, steps = run_readme(tmp_path, slow=False)
    assert len(results) >= 40
    bad = failures(results)
    assert not bad, f"{len(bad)} documented commands failed:\n\n" + "\n\n".join(bad)


@pytest.mark.slow
def test_every_slow_readme_command_runs_shortened(tmp_path):
    results, _ = run_readme(tmp_path, slow=True)
    bad = failures(results)
    assert not bad, f"{len(bad)} documented commands failed:\n\n" + "\n\n".join(bad)
