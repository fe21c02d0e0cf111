"""The search space: hydra.sweeper.params (YAML) as Optuna distributions, and a sampled
value back as Hydra override text. (Named with "_" so Hydra's plugin scan skips it: Optuna
is imported only when a search starts.)"""

from __future__ import annotations

from typing import Any

from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from wavenet_harness.base.errors import ConfigError
from wavenet_harness.sweeps.study import quoted


def build_distributions(params: dict[str, Any]) -> dict[str, BaseDistribution]:
    """YAML search space -> Optuna distributions; a plain list is a categorical."""
    space: dict[str, BaseDistribution] = {}
    for key, spec in (params or {}).items():
        where = f"hydra.sweeper.params.{key}"
        if isinstance(spec, (list, tuple)):
            spec = {"type": "categorical", "choices": list(spec)}
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}={spec!r} is not allowed: give {{type: float|int|categorical, ...}}")
        kind = spec.get("type")
        try:
            if kind == "float":
                space[key] = FloatDistribution(
                    float(spec["low"]), float(spec["high"]), log=bool(spec.get("log", False)), step=spec.get("step")
                )
            elif kind == "int":
                space[key] = IntDistribution(
                    int(spec["low"]), int(spec["high"]), log=bool(spec.get("log", False)), step=int(spec.get("step", 1))
                )
            elif kind == "categorical":
                choices = spec.get("choices")
                if not choices:
                    raise ConfigError(f"{where}.choices is empty: list at least one value")
                space[key] = CategoricalDistribution(list(choices))
            else:
                raise ConfigError(f"{where}.type={kind!r} is not allowed: choose float, int or categorical")
        except KeyError as missing:
            raise ConfigError(f"{where} needs {missing.args[0]!r} for type {kind}") from None
        except ValueError as err:
            if isinstance(err, ConfigError):
                raise
            raise ConfigError(f"{where} is not allowed: {err}") from None
    return space


def override_value(value: Any) -> str:
    """A Python value as Hydra override text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return quoted(str(value)) if any(c in str(value) for c in " ,=:'\"[]{}()\\$") else str(value)
