"""The speed options: `fast`, `compile` (the fused path, models/fused.py) and `amp`.

`check_speed_options` holds their rules (models/__init__.py asks it, with the models whose
spec allows the fast path, before any data is read); `speed_up_model` and `wrap_amp`
apply them to a built model; `amp=bf16` runs the forward under bf16 autocast (meant for
GPUs; logits come back fp32). This module knows nothing of training or files.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import torch
from torch import nn

from wavenet_harness.base.errors import ConfigError, one_of
from wavenet_harness.base.run_config import RunConfig
from wavenet_harness.models.fused import BATCHNORM_BUG_ON_FAST, FastSequential
from wavenet_harness.models.layers import Sequential, next_char_loss


class AutocastModel(nn.Module):
    """Runs a model's forward under bf16 autocast; logits come back in fp32.

    state_dict and load_state_dict pass straight through, so checkpoints do not depend
    on whether amp was on.
    """

    def __init__(self, model: nn.Module, device_type: str):
        super().__init__()
        self.inner = model
        self.device_type = device_type
        self.block_size = getattr(model, "block_size", None)
        self.vocab_size = getattr(model, "vocab_size", None)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, *batch_extra: torch.Tensor):
        """The inner model's (logits, loss); the loss is taken on the fp32 logits, outside autocast."""
        with torch.autocast(self.device_type, dtype=torch.bfloat16):
            logits, _ = self.inner(idx, None, *batch_extra)
        logits = logits.float()
        return logits, next_char_loss(logits, targets)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["inner"], name)

    def state_dict(self, *args, **kwargs):
        return self.inner.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        return self.inner.load_state_dict(state_dict, strict=strict, assign=assign)


AMP_MODES = ("none", "bf16")
AMP_ON_FAST = "amp=bf16 is not allowed with fast=true/compile=true: its hand-written backward is fp32"


def _not_a_fast_model(name: Any, fast_models: tuple[str, ...] = ("hier", "mlp")) -> ConfigError:
    return ConfigError(
        f"fast=true/compile=true support {' and '.join(f'model={m}' for m in fast_models)}, not model={name}"
    )


def check_speed_options(config: RunConfig, fast_models: tuple[str, ...]) -> None:
    """The rules of `fast`, `compile` and `amp`, checked on the config before any work;
    `fast_models`: the models whose spec says the fast path runs them."""
    one_of("amp", config.amp, AMP_MODES)
    if not config.fast_path:
        return
    if config.model.name not in fast_models:
        raise _not_a_fast_model(config.model.name, fast_models)
    if getattr(config.model, "batchnorm_bug", False):
        raise ConfigError(BATCHNORM_BUG_ON_FAST)
    if config.amp != "none":
        raise ConfigError(AMP_ON_FAST)
    if config.compile:
        check_compiler()


def check_compiler() -> None:
    """compile=true: torch.compile's inductor builds C++ (and, on a GPU, Triton's C launcher)
    at the first step; without a working compiler that is a 100-line traceback mid-run.
    Asked the way inductor asks (CXX, else g++: `<cxx> --version` must run)."""
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler
    except ImportError:  # a torch without inductor's builder: look for one on PATH instead
        if not any(shutil.which(name) for name in (os.environ.get("CXX") or "g++", "c++", "clang++")):
            raise ConfigError(NO_COMPILER) from None
        return
    try:
        get_cpp_compiler()
    except Exception:  # InvalidCxxCompiler, or any failure to run it
        raise ConfigError(NO_COMPILER) from None


NO_COMPILER = (
    "compile=true needs a working C++ compiler for torch.compile (none found: install g++, e.g. "
    "apt-get install g++, or point CXX at one); fast=true runs the fast path without compiling"
)


def speed_up_model(model: nn.Module, config: RunConfig) -> nn.Module:
    """Apply `fast`, `compile` (implies fast) from the config; unchanged when both are off."""
    if not config.fast_path:
        return model
    if not isinstance(model, Sequential) or type(model) is not Sequential:
        raise _not_a_fast_model(config.model.name)
    return FastSequential(model, compile=config.compile)


def wrap_amp(model: nn.Module, amp: str | None, device: torch.device) -> nn.Module:
    """amp=bf16: autocast the forward; amp=none (default): the model as is."""
    amp = amp or "none"
    one_of("amp", amp, AMP_MODES)
    if amp != "none" and isinstance(model, FastSequential):
        raise ConfigError(AMP_ON_FAST)
    return model if amp == "none" else AutocastModel(model, device.type)


def speed_report(model: nn.Module) -> dict[str, Any]:
    """Extra metrics.json fields for a run on the fast path."""
    inner = getattr(model, "inner", model)
    if not isinstance(inner, FastSequential):
        return {}
    report: dict[str, Any] = {"fast": True, "compiled": inner.compiled}
    if inner.compiled:
        report["compile_seconds"] = round(inner.compile_seconds, 3)
    return report
