"""What a Hyperband search costs before it runs: steps and CPU-minutes for n trials.

Optuna's own HyperbandPruner, built from a search config's pruner settings, judges
made-up learning curves reported exactly as the trials would report them (every
eval_interval steps, n_jobs trials side by side, the sweeper's batches), so the
brackets, rungs and promotions are the real ones; only the curves are invented. Each
curve falls as a power of the step towards its own floor, drawn at random, so its rank
among the others is random and holds from the first rung on. Real curves cross, which
changes which trials survive, not how many: Optuna promotes a trial on its rank at a
rung. Cost is steps / steps-per-second; the sweeper waits for each batch's slowest
trial, so wall time is reported too.

    python scripts/hyperband_budget.py --search transformer_long --steps-per-second 23.2
    python scripts/hyperband_budget.py --search gru_long --steps-per-second 28.1 --trials 10 20 30 \
        hydra.sweeper.pruner.reduction_factor=4          # any override of the search

Nothing is trained; it takes seconds. Step rates: docs/tuning.md's leaderboard (one
thread, two runs sharing the machine's two cores).

From a checkout only: scripts/ is not part of the installed package (not in the wheel);
run it from the repository's root with the package installed (pip install -e .).
"""

from __future__ import annotations

import argparse
import random
import statistics

import optuna

from wavenet_harness.adapter.config import compose_config
from wavenet_harness.sweeps.pruners import build_pruner


def simulate(search, n_trials: int, seed: int) -> tuple[int, int, int]:
    """(steps of all trials, steps of the sweeper's wall clock, trials run to the end)."""
    sweeper = search.hydra.sweeper
    max_steps, every, n_jobs = int(search.max_steps), int(search.eval_interval), int(sweeper.n_jobs)
    pruner_spec = {k: v for k, v in dict(sweeper.pruner).items()}
    study = optuna.create_study(study_name=sweeper.study_name, pruner=build_pruner(pruner_spec))
    rng = random.Random(seed)
    total = wall = finished = 0
    while len(study.trials) < n_trials:
        batch = [study.ask() for _ in range(min(n_jobs, n_trials - len(study.trials)))]
        floors = {t.number: 1.93 + rng.random() * 0.1 for t in batch}
        stopped = {}
        for step in range(every, max_steps + 1, every):
            for trial in batch:
                if trial.number in stopped:
                    continue
                trial.report(floors[trial.number] + 0.8 * (step / every) ** -0.6, step)
                if step < max_steps and trial.should_prune():
                    stopped[trial.number] = step
        for trial in batch:
            steps = stopped.get(trial.number, max_steps)
            total += steps
            finished += trial.number not in stopped
            if trial.number in stopped:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                study.tell(trial, floors[trial.number])
        wall += max(stopped.get(t.number, max_steps) for t in batch)
    return total, wall, finished


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search", required=True, help="a conf/hparams_search name, e.g. transformer_long")
    parser.add_argument("--steps-per-second", type=float, required=True, help="one trial's rate on one thread")
    parser.add_argument("--trials", type=int, nargs="+", default=None, help="n_trials to try (default: the config's)")
    parser.add_argument("--repeats", type=int, default=20, help="random curve sets per n_trials")
    parser.add_argument("overrides", nargs="*", help="config overrides, e.g. hydra.sweeper.pruner.reduction_factor=4")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    search = compose_config([f"hparams_search={args.search}", *args.overrides], hydra_config=True)
    for n in args.trials or [int(search.hydra.sweeper.n_trials)]:
        runs = [simulate(search, n, seed) for seed in range(args.repeats)]
        cpu = [total / args.steps_per_second / 60 for total, _, _ in runs]
        wall = [w / args.steps_per_second / 60 for _, w, _ in runs]
        full = [f for _, _, f in runs]
        print(
            f"{args.search} n_trials={n}: {statistics.mean(cpu):.0f} CPU-minutes "
            f"(range {min(cpu):.0f}-{max(cpu):.0f}), "
            f"{statistics.mean(wall):.0f} min wall, {statistics.mean(full):.1f} trials run to the end"
        )


if __name__ == "__main__":
    main()
