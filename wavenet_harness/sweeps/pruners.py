"""The sampler and pruner a search names (hydra.sweeper.sampler, hydra.sweeper.pruner), each
value checked in one line, and the note for a pruner that can never act within max_steps.

Resources are training steps: the step of each reported val loss. Optuna is imported inside
the functions that use it. This module knows nothing of the command line or of Hydra.
"""

from __future__ import annotations

from typing import Any

from wavenet_harness.base.errors import ConfigError

PRUNERS = ("median", "successive_halving", "hyperband", "none")
SAMPLERS = ("tpe", "random")


def _whole(spec: dict[str, Any], key: str, default: Any, low: int, auto: bool = False) -> Any:
    """spec[key] as a whole number >= low (or "auto" where allowed); else one line naming it."""
    value = spec.get(key, default)
    if auto and value == "auto":
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)  # "2000" from a command line that quoted it
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        wanted = f"a whole number >= {low}" + (' or "auto"' if auto else "")
        raise ConfigError(f"hydra.sweeper.pruner.{key}={value!r} is not allowed: {wanted}")
    return value


def build_pruner(spec: dict[str, Any] | None) -> Any:
    """The pruner a spec names (hydra.sweeper.pruner); every value checked, one line if wrong.

    Resources are training steps, the step of each reported val loss. Hyperband runs
    several successive-halving brackets, from one that prunes from min_resource on to
    one that prunes hardly at all, so a curve that starts slowly still has a bracket
    where it is judged late.
    """
    import optuna

    spec = dict(spec or {})
    name = spec.pop("name", "none") or "none"
    if name == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=_whole(spec, "n_startup_trials", 5, 0), n_warmup_steps=_whole(spec, "n_warmup_steps", 0, 0)
        )
    if name == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=_whole(spec, "min_resource", "auto", 1, auto=True),
            reduction_factor=_whole(spec, "reduction_factor", 4, 2),
        )
    if name == "hyperband":
        if spec.get("min_resource", "auto") == "auto":  # Optuna's Hyperband has no "auto" for it
            raise ConfigError(
                "hydra.sweeper.pruner.min_resource='auto' is not allowed with hyperband: give the steps of the "
                "first rung, e.g. ${eval_interval}"
            )
        min_resource = _whole(spec, "min_resource", 1, 1)
        max_resource = _whole(spec, "max_resource", "auto", 1, auto=True)
        reduction_factor = _whole(spec, "reduction_factor", 4, 2)
        if max_resource != "auto" and max_resource <= min_resource:
            raise ConfigError(
                f"hydra.sweeper.pruner.max_resource={max_resource} is not allowed: it must be above "
                f"min_resource={min_resource} (both in training steps)"
            )
        bootstrap_count = _whole(spec, "bootstrap_count", 0, 0)
        if bootstrap_count and max_resource == "auto":
            raise ConfigError('hydra.sweeper.pruner.bootstrap_count > 0 needs max_resource in steps, not "auto"')
        return optuna.pruners.HyperbandPruner(
            min_resource=min_resource,
            max_resource=max_resource,
            reduction_factor=reduction_factor,
            bootstrap_count=bootstrap_count,
        )
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ConfigError(f"hydra.sweeper.pruner.name={name!r} is not allowed: choose one of {', '.join(PRUNERS)}")


def pruning_blind_spot(spec: dict[str, Any] | None, max_steps: Any, eval_interval: Any) -> str | None:
    """Why the pruner can never stop a trial within max_steps, in one line; None if it can.

    A trial is judged only at its evaluations (every eval_interval steps) before max_steps
    (PruningReporter never prunes the last), and the pruner acts only from its own first
    step on: median from n_warmup_steps, successive halving and Hyperband from min_resource.
    hparams_search=hier_optuna run with max_steps=1500 waits for step 4000: nothing is pruned,
    and without this line nothing says so.
    """
    spec = dict(spec or {})
    key = {"median": "n_warmup_steps", "successive_halving": "min_resource", "hyperband": "min_resource"}.get(
        spec.get("name") or "none"
    )
    if key is None or not isinstance(max_steps, int) or not isinstance(eval_interval, int):
        return None
    first = spec.get(key, 0)
    if not isinstance(first, int) or isinstance(first, bool):
        return None  # "auto": the pruner picks its first rung from the trials themselves
    setting = f"hydra.sweeper.pruner.{key}={first}"
    if first >= max_steps:
        return f"{setting} is not below max_steps={max_steps}: no trial can be pruned"
    # the first evaluation at or after the pruner's first step (evaluations: eval_interval, 2 x, ...)
    judged_at = max(1, -(-first // eval_interval)) * eval_interval if eval_interval > 0 else max_steps
    if judged_at >= max_steps:
        return (
            f"no evaluation (eval_interval={eval_interval}) falls at or after {setting} and before "
            f"max_steps={max_steps}: no trial can be pruned"
        )
    return None


def build_sampler(spec: dict[str, Any] | None) -> Any:
    import optuna

    spec = dict(spec or {})
    name, seed = spec.get("name", "tpe"), spec.get("seed")
    if name == "tpe":
        # constant_liar: trials of one batch, asked before any is told, spread out instead of
        # all landing on the same promising point.
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=int(spec.get("n_startup_trials", 10)), constant_liar=True
        )
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ConfigError(f"hydra.sweeper.sampler.name={name!r} is not allowed: choose one of {', '.join(SAMPLERS)}")
