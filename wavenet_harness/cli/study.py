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
import textwrap
from pathlib import Path
from typing import Any

from wavenet_harness.base.errors import UsageError
from wavenet_harness.base.files import json_text
from wavenet_harness.base.passwords import AMBIGUOUS_URL, ambiguous_userinfo, masked, remember_secrets_in
from wavenet_harness.base.records import JOURNAL_NAME, RunRecord, load_run
from wavenet_harness.cli import OneLineArgumentParser, one_line_errors
from wavenet_harness.sweeps.recipe import best_at_any_step
from wavenet_harness.tracking.report import short_names

PROG = "wavenet-study"
WIDTH = 100  # the text output fits a terminal this wide


def _parser() -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(prog=PROG, description="Summarise an Optuna search made with wavenet-train.")
    parser.add_argument("sweep_dir", nargs="?", default=None, help="the search's sweep folder (holds optuna.journal)")
    parser.add_argument("--storage", default=None, help="a database URL instead of the folder's journal file")
    parser.add_argument("--study", default=None, help="study name (default: the only study in the storage)")
    parser.add_argument("--top", type=int, default=5, help="how many best trials to list (default 5)")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--any-step", action="store_true",
                        help="also rank trials (pruned ones too) by their best val at any evaluation, with its step")
    parser.add_argument("--json", action="store_true", help="print JSON for programs instead of text")
    parser.add_argument("--export", metavar="NAME", default=None,
                        help="write the best trial (or --trial, --step, --any-step) as the preset experiment=NAME")
    parser.add_argument("--trial", type=int, default=None, help="with --export: this trial")
    parser.add_argument("--step", type=int, default=None,
                        help="with --export: the val reported at this step; the preset's max_steps")
    parser.add_argument("--config-dir", default=None, metavar="DIR",
                        help="with --export: write DIR/experiment/NAME.yaml, for wavenet-train --config-dir DIR "
                             "(default: the checkout's conf/experiment/)")
    return parser


def _open_study(args: argparse.Namespace) -> Any:
    import optuna

    from wavenet_harness.sweeps.study import open_storage

    if args.storage:
        name = args.storage
        if ambiguous_userinfo(name):
            raise UsageError(f"--storage: the URL {AMBIGUOUS_URL}")
        local = name[len("sqlite:///"):] if name.startswith("sqlite:///") else None if "://" in name else name
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
        best.append({"trial": t.number, "val_loss": t.value, "params": t.params,
                     "model_params": record.params, "minutes": seconds / 60 if seconds else None})
    importances = {}
    if len(complete) >= 2 and len({t.value for t in complete}) > 1:
        importances = dict(optuna.importance.get_param_importances(study, target=None))
    summary = {"study": study.study_name, "trials": len(trials), "counts": counts, "wall_minutes": wall_minutes,
               "trial_minutes": trial_minutes, "best": best, "importances": importances,
               "importance_caveat": importance_caveat(len(complete)) if importances else None}
    if any_step:
        summary["best_at_any_step"] = best_at_any_step(trials, top)
    return summary


def _value(v: Any) -> str:
    """A sampled float in 3 significant digits, more where 3 would round it to another
    value a person would type (ema_decay=0.9998 is not 1)."""
    if not isinstance(v, float):
        return str(v)
    for digits in (3, 4, 5, 6):
        if abs(float(f"{v:.{digits}g}") - v) <= 1e-3 * abs(1 - v) or float(f"{v:.{digits}g}") == v:
            return f"{v:.{digits}g}"
    return f"{v:.6g}"


def _print_text(summary: dict[str, Any], markdown: bool) -> None:
    c = summary["counts"]
    wall = f"{summary['wall_minutes']:.1f} min" if summary["wall_minutes"] is not None else "-"
    _say(f"study {summary['study']}: {summary['trials']} trials: {c['complete']} finished, {c['pruned']} pruned, "
         f"{c['fail']} failed, {c['running'] + c['waiting']} running or waiting, {c['interrupted']} interrupted "
         f"and asked again; wall time {wall}, trials' run time {summary['trial_minutes']:.1f} min in all", markdown)
    _print_any_step(summary.get("best_at_any_step"), markdown)
    if not summary["best"]:
        print("no finished trials yet")
        return
    keys = list(summary["best"][0]["params"])
    header = ["trial", "val loss", *keys, "params", "minutes"]
    rows = [[str(b["trial"]), f"{b['val_loss']:.4f}", *(_value(b["params"].get(k)) for k in keys),
             f"{b['model_params']:,}" if b["model_params"] else "-",
             f"{b['minutes']:.1f}" if b["minutes"] else "-"] for b in summary["best"]]
    _print_table(header, rows, markdown, keys=range(2, 2 + len(keys)))
    if summary["importances"]:
        print()
        _print_table(
            ["parameter", "importance"], [[k, f"{v:.2f}"] for k, v in summary["importances"].items()], markdown
        )
        if summary["importance_caveat"]:
            _say(("\n> " if markdown else "") + f"note: {summary['importance_caveat']}", markdown)


def _print_any_step(rows: list[dict[str, Any]] | None, markdown: bool) -> None:
    if rows is None:
        return
    if not rows:
        print("no trial has reported a val loss yet\n")
        return
    _say("best val at any evaluation (the trial's config with max_steps=<step> ends there when its lr does "
         "not depend on max_steps):", markdown)
    keys = list(rows[0]["params"])
    _print_table(["trial", "val loss", "step", "state", *keys],
                 [[str(r["trial"]), f"{r['val_loss']:.4f}", str(r["step"]), r["state"],
                   *(_value(r["params"].get(k)) for k in keys)] for r in rows], markdown, keys=range(4, 4 + len(keys)))
    print()


def _print_table(header: list[str], rows: list[list[str]], markdown: bool, keys: range = range(0)) -> None:
    """A Markdown table, or text that fits WIDTH columns: the `keys` columns (searched keys)
    by their last part, headers on two lines when one is too wide, and the keys that still
    do not fit left out, with a line naming them."""
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---" for _ in header) + "|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return
    names = dict(zip(keys, short_names([header[i] for i in keys]), strict=True))
    shown, left_out = list(range(len(header))), list[str]()
    while True:
        for split in (False, True):
            heads = [_two_lines(names.get(i, header[i])) if split else [names.get(i, header[i])] for i in shown]
            widths = [max([len(r[i]) for r in rows] + [len(line) for line in head]) for i, head in zip(shown, heads, strict=True)]
            if sum(widths) + 2 * (len(widths) - 1) <= WIDTH:
                break
        droppable = [i for i in shown if i in keys]
        if sum(widths) + 2 * (len(widths) - 1) <= WIDTH or not droppable:
            break
        shown.remove(droppable[-1])
        left_out.insert(0, header[droppable[-1]])
    depth = max(len(head) for head in heads)
    lines = [[(head[j - depth + len(head)] if j >= depth - len(head) else "") for head in heads] for j in range(depth)]
    for row in [*lines, *([r[i] for i in shown] for r in rows)]:
        print("  ".join(x.ljust(w) for x, w in zip(row, widths, strict=True)).rstrip())
    if left_out:
        print(f"left out for width: {', '.join(left_out)} (--markdown and --json have every column)")


def _two_lines(header: str) -> list[str]:
    """A header at its words (n_hidden as "n" over "hidden"), split where both lines are shortest."""
    words = header.replace("_", " ").split()
    if len(words) < 2:
        return [header]
    k = min(range(1, len(words)), key=lambda k: max(len(" ".join(words[:k])), len(" ".join(words[k:]))))
    return [" ".join(words[:k]), " ".join(words[k:])]


def _say(text: str, markdown: bool = False) -> None:
    """A line of text, wrapped at spaces to WIDTH columns (Markdown: as it is)."""
    print(text if markdown else textwrap.fill(text, WIDTH, subsequent_indent="  ", break_long_words=False,
                                              break_on_hyphens=False))


def export(args: argparse.Namespace, study: Any) -> None:
    """--export NAME: the chosen trial written as an experiment preset (adapter/preset.py)."""
    from wavenet_harness.adapter.preset import write_preset
    from wavenet_harness.sweeps.recipe import choose

    choice = choose(study.get_trials(deepcopy=False), args.trial, args.step, args.any_step)
    run_dir = _trial_run_dir(choice.trial, Path(args.sweep_dir) if args.sweep_dir else None)
    storage = masked(args.storage) if args.storage else str(Path(args.sweep_dir) / JOURNAL_NAME)
    path, step = write_preset(choice, run_dir, study.study_name, storage, args.export, args.config_dir)
    print(f"wrote {path}: trial {choice.trial.number} at step {step} (val {choice.val_loss:.4f})")
    print(f"run it: wavenet-train{f' --config-dir {args.config_dir}' if args.config_dir else ''} "
          f"experiment={args.export}")


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
        summary = summarise(_open_study(args), args.top, Path(args.sweep_dir) if args.sweep_dir else None,
                            any_step=args.any_step)
    if args.json:
        print(json_text(summary, indent=2, default=str))
    else:
        _print_text(summary, args.markdown)


if __name__ == "__main__":
    main()
