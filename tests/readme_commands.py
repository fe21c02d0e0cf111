"""The README's shell commands, read from its ```bash blocks and shortened so a test can run them all.

`readme_commands(text)` yields every command of the README's bash blocks in order: lines
joined at a trailing backslash, split at `&&`, comments dropped. A command whose comment
says it needs a cluster, a GPU or a database host (`# needs a SLURM cluster`, `# needs a
GPU`, `# needs a database host`) is marked so, and only those are skipped.

`shorten(command, workspace)` rewrites one command to run in seconds inside `workspace`:
wavenet-train gets few steps, one thread and a tiny words file; `wavenet-study --export`
writes into the workspace (`--config-dir`), and a preset it wrote is trained from there; an Optuna search two or
three trials, a seeded sampler, and (hier_optuna) only the step schedule among its
choices, as the cosine's default 1000 warmup steps do not fit a 20-step run; example paths
(`runs/multirun/<date>/<time>`, RUN_DIR, brace lists) point at the runs the earlier
commands made.

    python tests/readme_commands.py CASES.json     # run shortened commands in this process

run as a driver, it executes a list of shortened commands in one Python process, the way
helpers.py's `cli.batch` runs wavenet-train, and prints one JSON result per command.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from helpers import ENTRY_POINTS, REPO

NEEDS = re.compile(r"#.*\bneeds (?:a |an )?(SLURM cluster|cluster|GPU|database host)\b", re.IGNORECASE)
SHELL_LANGUAGES = ("bash", "sh", "shell")
# wavenet-train keys the shortening sets; whatever the README gave them is replaced.
SHORT_KEYS = {
    "max_steps": "20",
    "eval_interval": "10",
    "checkpoint_interval": "10",
    "threads": "1",
    "log.progress": "false",
    "log.diagnostics_every": "5",
    "log.samples": "2",
}
# Choices that can set the schedule; a warmup (200-1000 steps) is longer than the short run.
SCHEDULE_SETTERS = ("schedule=", "experiment=", "hparams_search=")
DATED_SWEEP = re.compile(r"runs/multirun/(?:\d{4}-\d\d-\d\d/\d\d-\d\d-\d\d|<date>/<time>)")
DATED_RUN = re.compile(r"runs/\d{4}-\d\d-\d\d/\d\d-\d\d-\d\d")
WORDS = [
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
    "kate",
    "jack",
    "quinn",
    "zoe",
    "xavier",
    "yusuf",
    "wendy",
    "victor",
    "gabriel",
    "noah",
    "liam",
    "oscar",
    "karim",
    "dylan",
    "tucker",
    "penelope",
    "luna",
    "camila",
    "brooklyn",
    "fitz",
]


@dataclass
class ReadmeCommand:
    line: int  # where it starts in its document
    argv: list[str]
    needs: str | None = None  # "GPU", "cluster", ... when it cannot run here
    source: str = "README.md"  # the document it comes from

    @property
    def text(self) -> str:
        return shlex.join(self.argv)


def shell_blocks(text: str) -> list[tuple[int, list[str]]]:
    """(first line number, lines) of every ```bash block."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] | None = None  # the lines of the shell block being read
    inside, start = False, 0  # inside any fenced block (shell or not)
    for number, line in enumerate(text.splitlines(), 1):
        fence = re.match(r"^```(\w*)\s*$", line)
        if fence and not inside:
            inside, start = True, number + 1
            current = [] if fence.group(1) in SHELL_LANGUAGES else None  # None: a non-shell block, skipped
        elif line.startswith("```") and inside:
            if current is not None:
                blocks.append((start, current))
            inside, current = False, None
        elif current is not None:
            current.append(line)
    return blocks


def readme_commands(text: str) -> list[ReadmeCommand]:
    commands = []
    for start, lines in shell_blocks(text):
        logical, first = "", None
        for offset, line in enumerate(lines):
            first = start + offset if first is None else first
            if line.rstrip().endswith("\\"):
                logical += line.rstrip()[:-1] + " "
                continue
            logical += line
            commands += _split(logical, first)
            logical, first = "", None
    return commands


def _split(logical: str, line: int) -> list[ReadmeCommand]:
    needs = NEEDS.search(logical)
    tokens = shlex.split(logical, comments=True)
    commands: list[ReadmeCommand] = []
    current: list[str] = []
    for token in tokens + ["&&"]:
        if token == "&&":
            if current:
                commands.append(ReadmeCommand(line, current, needs.group(1) if needs else None))
            current = []
        else:
            current.append(token)
    return commands


def documentation_pages(repo: Path) -> list[Path]:
    """The documentation's pages in mkdocs.yml's nav order."""
    pages, in_nav = [], False
    for line in (repo / "mkdocs.yml").read_text().splitlines():
        if re.match(r"^nav:\s*$", line):
            in_nav = True
        elif in_nav and re.match(r"^\S", line):
            break
        elif in_nav and (page := re.search(r"([\w./-]+\.md)\s*$", line)):
            pages.append(repo / "docs" / page.group(1))
    return pages


def documented_commands(repo: Path) -> list[ReadmeCommand]:
    """Every command of the README, then of each documentation page, in reading order."""
    commands = []
    for document in [repo / "README.md", *documentation_pages(repo)]:
        for command in readme_commands(document.read_text()):
            command.source = document.relative_to(repo).as_posix()
            commands.append(command)
    return commands


# ------------------------------------------------------------------ shortening


@dataclass
class Workspace:
    """Where the shortened commands run, and what the earlier ones made."""

    root: Path
    words: Path
    sweeps: list[str] = field(default_factory=list)  # plain multirun sweep dirs, in order
    runs: int = 0

    @property
    def presets(self) -> Path:
        """Where `wavenet-study --export` writes and the presets it wrote are trained from."""
        return self.root / "presets"

    @classmethod
    def create(cls, root: Path) -> Workspace:
        words = root / "words.txt"
        words.write_text("\n".join(WORDS) + "\n")
        return cls(root, words)


def _key(override: str) -> str:
    return override.partition("=")[0].lstrip("+~")


def _is_override(token: str) -> bool:
    return "=" in token and not token.startswith("-")


def exported_preset(args: list[str]) -> str | None:
    """The `experiment=NAME` of a command that trains a preset `wavenet-study --export` wrote
    (not one the checkout ships), else None."""
    for arg in args:
        if arg.startswith("experiment=") and not (REPO / "conf" / "experiment" / f"{_value(arg)}.yaml").exists():
            return _value(arg)
    return None


def _value(override: str) -> str:
    return override.partition("=")[2]


def uses_warmup(args: list[str]) -> bool:
    """Whether the command's config (its fixed overrides, composed) warms its lr up (cosine, or
    constant with warmup_steps), a warmup longer than the shortened run. An exported preset
    does not exist yet when the commands are shortened: its warmup is scaled by wavenet-train."""
    fixed = [a for a in args if _is_override(a) and "," not in a and not a.lstrip("+~").startswith("hydra")]
    if not any(a.startswith(SCHEDULE_SETTERS) for a in fixed) or exported_preset(fixed):
        return False
    from wavenet_harness.adapter.config import compose_config

    schedule = compose_config(fixed)["schedule"]
    return schedule["name"] == "cosine" or bool(schedule.get("warmup_steps"))


def shorten_train(args: list[str], ws: Workspace) -> list[str]:
    """A wavenet-train command line that does the same thing in a few steps."""
    kept = [a for a in args if not (_is_override(a) and _key(a) in (*SHORT_KEYS, "data.path"))]
    short = [f"{k}={v}" for k, v in SHORT_KEYS.items()] + [f"data.path={ws.words}"]
    if uses_warmup(args):
        short.append("schedule.warmup_steps=2")
    optuna = any(a.startswith(("hparams_search=", "hydra/sweeper=")) for a in args)
    if optuna:
        kept = [a for a in kept if _key(a) != "hydra.sweeper.n_trials"]
        short.append(f"hydra.sweeper.n_trials={3 if any(_key(a) == 'hydra.sweeper.n_trials' for a in args) else 2}")
        if not any(_key(a) == "hydra.sweeper.sampler.seed" for a in args):
            short.append("hydra.sweeper.sampler.seed=0")
        if "hparams_search=hier_optuna" in args:
            short.append("hydra.sweeper.params.schedule.choices=[step]")
    elif "--multirun" in args and not any(_key(a) == "hydra.sweep.dir" for a in args):
        ws.sweeps.append(f"runs/multirun/readme-{len(ws.sweeps)}")
        short.append(f"hydra.sweep.dir={ws.sweeps[-1]}")
    elif "--multirun" not in args and not any(_key(a) == "hydra.run.dir" for a in args) and "--cfg" not in args:
        ws.runs += 1
        short.append(f"hydra.run.dir=runs/readme-single-{ws.runs}")
    if exported_preset(args) and "--config-dir" not in args:
        kept = ["--config-dir", str(ws.presets), *kept]
    return kept + short


def _expand_braces(token: str) -> list[str]:
    match = re.search(r"\{([^{}]*,[^{}]*)\}", token)
    if not match or "=" in token:
        return [token]
    return [token[: match.start()] + choice + token[match.end() :] for choice in match.group(1).split(",")]


def resolve_paths(args: list[str], ws: Workspace) -> list[str]:
    """Example run directories -> the runs the earlier commands made; brace lists expanded."""
    latest = ws.sweeps[-1] if ws.sweeps else "runs/multirun/none-yet"
    out = []
    for token in args:
        token = DATED_SWEEP.sub(latest, token).replace("RUN_DIR", f"{latest}/0")
        out += _expand_braces(token)
    return out


def shorten(command: ReadmeCommand, ws: Workspace) -> list[str]:
    program, args = command.argv[0], command.argv[1:]
    if program == "wavenet-train":
        return [program, *shorten_train(args, ws)]
    if program == "wavenet-study" and "--export" in args and "--config-dir" not in args:
        # into the scratch folder, never the checkout's conf/experiment/
        return [program, *resolve_paths(args, ws), "--config-dir", str(ws.presets)]
    if program in (
        "wavenet-sample",
        "wavenet-report",
        "wavenet-eval",
        "wavenet-study",
        "tensorboard",
        "optuna-dashboard",
    ):
        return [program, *resolve_paths(args, ws)]
    if program in ("python", "python3") and args[:1] and args[0].startswith("scripts/"):
        if args[0].endswith("reproduce_lecture.py") and "--report" not in args:
            overrides = [a for a in args[1:] if not (_is_override(a) and _key(a) in SHORT_KEYS)]
            short = [f"{k}={v}" for k, v in SHORT_KEYS.items() if k in ("max_steps", "eval_interval", "threads")]
            return [program, args[0], *overrides, *short, f"data.path={ws.words}"]
        if args[0].endswith(
            ("plot_val_vs_time.py", "plot_search_budget.py")
        ):  # LABEL=<example run dir> -> runs made above
            return [program, args[0], *resolve_paths(args[1:], ws)]
        if args[0].endswith("benchmark_sweep.py"):
            return [program, args[0], "--jobs", "2", "--parallel", "2", "--steps", "20", "--data", str(ws.words)]
        return command.argv
    return command.argv


# ------------------------------------------------------------------ the driver


def _entry(program: str):
    return importlib.import_module(ENTRY_POINTS[program]).main


def run_in_process(argv: list[str], base_env: dict) -> dict:
    """One console script's main() here, as its script would run it: exit code and output."""
    sys.argv = list(argv)
    os.environ.clear()
    os.environ.update(base_env)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main = _entry(argv[0])
            main() if argv[0] == "wavenet-train" else main(argv[1:])
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
    return {"argv": argv, "rc": code, "stdout": out.getvalue()[-4000:], "stderr": err.getvalue()[-4000:]}


def run_subprocess(argv: list[str], timeout: float = 600) -> dict:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    return {"argv": argv, "rc": done.returncode, "stdout": done.stdout[-4000:], "stderr": done.stderr[-4000:]}


if __name__ == "__main__":
    BASE_ENV = dict(os.environ)
    cases = json.loads(Path(sys.argv[1]).read_text())
    results = [run_in_process(argv, BASE_ENV) for argv in cases]
    assert sys.__stdout__ is not None  # a subprocess with stdout captured
    sys.__stdout__.write(json.dumps(results))
