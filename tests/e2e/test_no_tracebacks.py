"""Cases that used to end in a traceback now end in one line (exit 2), losing nothing:
hydra.launcher.n_jobs=0, compile=true without a C++ compiler, an absurd log.samples, an
Optuna journal cut mid-line, and Ctrl-C while the console script is still importing.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import optuna

from helpers import REPO, TINY_OVERRIDES, assert_one_error_line


def _cut_journal(sweep_dir):
    """A search folder whose journal's last record was cut mid-write: its bytes before the cut."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    sweep_dir.mkdir()
    journal = sweep_dir / "optuna.journal"
    study = optuna.create_study(study_name="wavenet", storage=JournalStorage(JournalFileBackend(str(journal))))
    study.enqueue_trial({"lr": 0.1})
    study.ask()
    whole = journal.read_bytes()
    journal.write_bytes(whole[:-20])
    return journal.read_bytes()


def test_each_case_is_one_line_and_writes_nothing(tmp_path, tiny_words_file, cli, monkeypatch):
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-compiler"))  # what inductor would use
    journal_bytes = _cut_journal(tmp_path / "search")
    base = [*TINY_OVERRIDES, f"data.path={tiny_words_file}"]
    cases = {
        "hydra.launcher.n_jobs=0 is not allowed": [
            "--multirun",
            "hydra/launcher=parallel",
            "hydra.launcher.n_jobs=0",
            *base,
            f"hydra.sweep.dir={tmp_path / 'jobs0'}",
            "lr=0.1,0.2",
        ],
        "compile=true needs a working C++ compiler": [*base, "compile=true", f"hydra.run.dir={tmp_path / 'compiled'}"],
        "log.samples=100000000 is not allowed": [*base, "log.samples=100000000", f"hydra.run.dir={tmp_path / 'many'}"],
        "ends in a cut record": [
            "--multirun",
            "hydra/sweeper=wavenet_optuna",
            *base,
            f"hydra.sweep.dir={tmp_path / 'search'}",
            "hydra.sweeper.n_trials=2",
            "+hydra.sweeper.params.lr={type:float,low:0.01,high:0.5}",
        ],
    }
    results = cli.batch(list(cases.values()), tmp_path)
    for expected, result in zip(cases, results, strict=True):
        assert_one_error_line(result["rc"], result["stderr"], expected)
    for name in ("jobs0", "compiled", "many"):
        assert not (tmp_path / name).exists()
    assert (tmp_path / "search" / "optuna.journal").read_bytes() == journal_bytes  # left for the user to mend


# Ctrl-C while the script imports torch: the import itself raises KeyboardInterrupt, as
# Python does when SIGINT arrives in the middle of it (no timing involved).
CTRL_C_DURING_IMPORTS = """
import sys
import wavenet_harness.cli  # what the console script imports first

class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "torch":
            raise KeyboardInterrupt
sys.meta_path.insert(0, CtrlC())
sys.argv = ["wavenet-train"]
from wavenet_harness.cli.train import main  # the console script's own line
"""


def test_ctrl_c_while_importing_is_one_line_and_ends_as_sigint():
    done = subprocess.run(
        [sys.executable, "-c", CTRL_C_DURING_IMPORTS], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.stderr.strip().splitlines() == ["wavenet-train: interrupted (Ctrl-C)"], done.stderr
    assert done.returncode in (-signal.SIGINT, 128 + signal.SIGINT)


def test_a_typo_in_a_search_key_is_refused_and_does_not_use_up_a_trial(tmp_path, tiny_words_file, cli):
    search = [
        "--multirun",
        "hydra/sweeper=wavenet_optuna",
        *TINY_OVERRIDES,
        "max_steps=10",
        f"data.path={tiny_words_file}",
        f"hydra.sweep.dir={tmp_path / 'search'}",
        "hydra.sweeper.n_trials=1",
    ]
    typo = cli([*search, "+hydra.sweeper.params.lrr={type:float,low:0.01,high:0.5}"], cwd=tmp_path)
    assert typo.returncode == 2 and "do not compose" in typo.stderr and "Traceback" not in typo.stderr, typo.stderr
    fixed = cli([*search, "+hydra.sweeper.params.lr={type:float,low:0.01,high:0.5}"], cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert "0 of 1 trials already there" in fixed.stdout and "sweep: 1 jobs: 1 ok" in fixed.stdout, fixed.stdout
