"""`wavenet-study SWEEP_DIR`: what an Optuna search found, for notes and the README.

It opens the study that `hparams_search=...` wrote (the optuna.journal in the sweep
folder, or --storage URL) and prints:
  - how many trials finished, were pruned or failed, the search's wall time and the
    trials' run time summed (CPU-minutes when each trial has one thread);
  - the best trials with their parameters, model size and minutes;
  - which parameters mattered: Optuna's fANOVA importances over the finished trials,
    with a warning when fewer than 10 trials have finished (the ranking is then a hint).
It only reads, so it is safe while the search is still running.

    wavenet-study runs/sweeps/conv_optuna
    wavenet-study runs/sweeps/conv_optuna --top 3 --markdown      # tables to paste
    wavenet-study runs/sweeps/transformer_long --any-step         # best val at any evaluation

--any-step also ranks every trial, finished or pruned, by its best val loss at any
evaluation, with that step: for searches whose lr does not depend on max_steps (the
`_long` searches: constant lr, averaged weights) the trial's config with max_steps set to
that step is that very run, so the best of them is the recipe.

--export NAME writes that recipe as an experiment preset, ready for `wavenet-train
experiment=NAME`: the best finished trial (or --trial T, --step S, --any-step), its config
as it ran with max_steps at the chosen step (sweeps/recipe.py says which keys; the file is
written by adapter/preset.py):

    wavenet-study runs/sweeps/transformer_long --export my_transformer --any-step
    wavenet-study runs/sweeps/gru_long --export my_gru --trial 9 --step 15000 --config-dir ~/presets

The study is opened through sweeps/study.py, the trials' run directories read through
base/records.py (load_run); Optuna is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from wavenet_harness.base.errors import UsageError
from wavenet_harness.base.files import json_text
from wavenet_harness.base.passwords import AMBIGUOUS_URL, ambiguous_userinfo, masked, remember_secrets_in
from wavenet_harness.base.records import JOURNAL_NAME, RunRecord, load_run
from wavenet_harness.cli import OneLineArgumentParser, one_line_errors
from wavenet_harness.cli.study_text import print_text
from wavenet_harness.sweeps.recipe import best_at_any_step

PROG = "wavenet-study"


def _parser() -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(prog=PROG, description="Summarise an Optuna search made with wavenet-train.")
    parser.add_argument("sweep_dir", nargs="?", default=None, help="the search's sweep folder (holds optuna.journal)")
    parser.add_argument("--storage", default=None, help="a database URL instead of the folder's journal file")
    parser.add_argument("--study", default=None, help="study name (default: the only study in the storage)")
    parser.add_argument("--top", type=int, default=5, help="how many best trials to list (default 5)")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument(
        "--any-step",
        action="store_true",
        help="also rank trials (pruned ones too) by their best val at any evaluation, with its step",
    )
    parser.add_argument("--json", action="store_true", help="print JSON for programs instead of text")
    parser.add_argument(
        "--export",
        metavar="NAME",
        default=None,
        help="write the best trial (or --trial, --step, --any-step) as the preset experiment=NAME",
    )
    parser.add_argument("--trial", type=int, default=None, help="with --export: this trial")
    parser.add_argument(
        "--step", type=int, default=None, help="with --export: the val reported at this step; the preset's max_steps"
    )
    parser.add_argument(
        "--config-dir",
        default=None,
        metavar="DIR",
        help="with --export: write DIR/experiment/NAME.yaml, for wavenet-train --config-dir DIR "
        "(default: the checkout's conf/experiment/)",
    )
    return parser


def _open_study(args: argparse.Namespace) -> Any:
    import optuna

    from wavenet_harness.sweeps.study import open_storage

    if args.storage:
        name = args.storage
        if ambiguous_userinfo(name):
            raise UsageError(f"--storage: the URL {AMBIGUOUS_URL}")
        local = name[len("sqlite:///") :] if name.startswith("sqlite:///") else None if "://" in name else name
        if local is not None and not Path(local).exists():  # reading a study must not create an empty one
            raise UsageError(f"--storage {masked(name)}: {local} does not exist; give an existing study's storage")
    elif args.sweep_dir:
        journal = Path(args.sweep_dir) / JOURNAL_NAME
        if journal.exists() and not journal.is_file():
            raise UsageError(f"{journal} is not a regular file (a FIFO or a folder?); give an Optuna journal file")
        if not journal.is_file():
            raise UsageError(f"{journal} does not exist; give the sweep folder of an Optuna search, or --storage URL")
        name = str(journal)
    else:
        raise UsageError("give the sweep folder of an Optuna search, or --storage URL")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if os.path.exists(name) and not os.path.isfile(name):  # a FIFO would block the read forever
        raise UsageError(f"--storage {name} is not a regular file; give an Optuna journal file or a database URL")
    try:
        storage = open_storage(name)
        studies = [s.study_name for s in optuna.get_all_study_summaries(storage)]
    except Exception as err:  # a database that cannot be reached or read: the user's to fix
        detail = " ".join(str(err).split())[:200] or type(err).__name__
        raise UsageError(f"cannot open the study storage {masked(name)}: {masked(detail)}") from None
    study_name = args.study or (studies[0] if len(studies) == 1 else None)
    if study_name not in studies:
        raise UsageError(f"choose a study with --study: the storage holds {', '.join(studies) or 'none'}")
    return optuna.load_study(study_name=study_name, storage=storage)


def _trial_run_dir(trial: Any, sweep_dir: Path | None = None) -> Path:
    run_dir = Path(str(trial.user_attrs.get("run_dir", "")))
    if sweep_dir is not None and not run_dir.is_absolute() and not run_dir.is_dir():
        # recorded relative to where the search ran; its jobs live in the sweep folder
        run_dir = sweep_dir / run_dir.name
    return run_dir


def _trial_record(trial: Any, sweep_dir: Path | None = None) -> RunRecord:
    return load_run(_trial_run_dir(trial, sweep_dir))


def summarise(study: Any, top: int, sweep_dir: Path | None = None, any_step: bool = False) -> dict[str, Any]:
    import optuna
    from optuna.trial import TrialState

    from wavenet_harness.sweeps.study import importance_caveat

    trials = study.get_trials(deepcopy=False)
    counts = {state.name.lower(): sum(t.state == state for t in trials) for state in TrialState}
    # A trial stopped by Ctrl-C and asked again is a FAIL that the search does not count.
    counts["interrupted"] = sum(t.state == TrialState.FAIL and bool(t.user_attrs.get("requeued")) for t in trials)
    counts["fail"] -= counts["interrupted"]
    starts = [t.datetime_start for t in trials if t.datetime_start]
    ends = [t.datetime_complete for t in trials if t.datetime_complete]
    wall_minutes = (max(ends) - min(starts)).total_seconds() / 60 if starts and ends else None
    # The trials' own run time summed (pruned ones too): the search's cost in machine time,
    # CPU-minutes when each trial has one thread.
    records = {t.number: _trial_record(t, sweep_dir) for t in trials}  # each file read once
    trial_minutes = sum(r.number("seconds") or 0.0 for r in records.values()) / 60
    complete = sorted((t for t in trials if t.state == TrialState.COMPLETE), key=lambda t: t.value)
    best = []
    for t in complete[:top]:
        record = records[t.number]
        seconds = record.number("seconds")
        best.append(
            {
                "trial": t.number,
                "val_loss": t.value,
                "params": t.params,
                "model_params": record.params,
                "minutes": seconds / 60 if seconds else None,
            }
        )
    importances = {}
    if len(complete) >= 2 and len({t.value for t in complete}) > 1:
        importances = dict(optuna.importance.get_param_importances(study, target=None))
    summary = {
        "study": study.study_name,
        "trials": len(trials),
        "counts": counts,
        "wall_minutes": wall_minutes,
        "trial_minutes": trial_minutes,
        "best": best,
        "importances": importances,
        "importance_caveat": importance_caveat(len(complete)) if importances else None,
    }
    if any_step:
        summary["best_at_any_step"] = best_at_any_step(trials, top)
    return summary


def export(args: argparse.Namespace, study: Any) -> None:
    """--export NAME: the chosen trial written as an experiment preset (adapter/preset.py)."""
    from wavenet_harness.adapter.preset import write_preset
    from wavenet_harness.sweeps.recipe import choose

    choice = choose(study.get_trials(deepcopy=False), args.trial, args.step, args.any_step)
    run_dir = _trial_run_dir(choice.trial, Path(args.sweep_dir) if args.sweep_dir else None)
    storage = masked(args.storage) if args.storage else str(Path(args.sweep_dir) / JOURNAL_NAME)
    path, step = write_preset(choice, run_dir, study.study_name, storage, args.export, args.config_dir)
    print(f"wrote {path}: trial {choice.trial.number} at step {step} (val {choice.val_loss:.4f})")
    print(
        f"run it: wavenet-train{f' --config-dir {args.config_dir}' if args.config_dir else ''} experiment={args.export}"
    )


def _check_options(args: argparse.Namespace) -> None:
    if args.top < 1:
        raise UsageError(f"--top {args.top} is not allowed: give a positive whole number")
    if args.export is None and (args.trial, args.step, args.config_dir) != (None, None, None):
        raise UsageError("--trial, --step and --config-dir choose what --export NAME writes: give --export NAME")


def main(argv: list[str] | None = None) -> None:
    for arg in sys.argv[1:] if argv is None else argv:  # a --storage password: masked in every line
        remember_secrets_in(arg.partition("=")[2] if arg.startswith("--storage=") else arg)
    with one_line_errors(PROG):
        args = _parser().parse_args(argv)
        _check_options(args)
        if args.export is not None:
            export(args, _open_study(args))
            return
        summary = summarise(
            _open_study(args), args.top, Path(args.sweep_dir) if args.sweep_dir else None, any_step=args.any_step
        )
    if args.json:
        print(json_text(summary, indent=2, default=str))
    else:
        print_text(summary, args.markdown)


if __name__ == "__main__":
    main()
