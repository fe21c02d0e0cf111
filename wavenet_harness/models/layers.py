"""The lecture's layers as torch.nn modules.

makemore part 5 writes its own Linear, BatchNorm1d, Embedding, FlattenConsecutive and
Tanh in a PyTorch-like API. These are the same computations, operation for operation
and in the same order of random draws, so a model built here from torch.manual_seed(42)
has the notebook's exact initial weights and takes the notebook's exact steps.
torch's own nn.Linear/nn.BatchNorm1d are not used because their init, weight layout and
variance estimator differ from the lecture's.

`Sequential` is also where the models' one interface starts: `model(idx, targets=None)`
returns (logits, loss), the loss None without targets (makemore's interface), so the
training loop, evaluation and sampling do not care which model runs. This module knows
nothing of configs, training or files.
"""

from __future__ import annotations

import typing

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules import module as _nn_module


def next_char_loss(logits: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor | None:
    """Mean cross-entropy of next-character logits; None without targets.

    (B, V) logits with (B,) targets: the lecture's `F.cross_entropy(logits, Yb)`, as is.
    (B, T, V) logits with (B, T) targets (every position of whole words): -1 marks a
    position with nothing to predict.
    """
    if targets is None:
        return None
    if logits.ndim == 2:
        return F.cross_entropy(logits, targets)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-1)


class Embedding(nn.Module):
    """A lookup table initialised with a unit Gaussian (the lecture's, not torch's init)."""

    def __init__(self, num_embeddings: int, embedding_dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn((num_embeddings, embedding_dim)))

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.weight[idx]


class FlattenConsecutive(nn.Module):
    """(B, T, C) -> (B, T/n, C*n): concatenate n neighbouring positions; drop T when it is 1."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        x = x.view(B, T // self.n, C * self.n)
        if x.shape[1] == 1:
            x = x.squeeze(1)
        return x

    def extra_repr(self) -> str:
        return f"n={self.n}"


class Linear(nn.Module):
    """x @ W (+ b) with W stored (fan_in, fan_out) and drawn as randn / sqrt(fan_in)."""

    def __init__(self, fan_in: int, fan_out: int, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn((fan_in, fan_out)) / fan_in**0.5)
        self.bias = nn.Parameter(torch.zeros(fan_out)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x @ self.weight
        if self.bias is not None:
            out += self.bias
        return out

    def extra_repr(self) -> str:
        fan_in, fan_out = self.weight.shape
        return f"{fan_in}, {fan_out}, bias={self.bias is not None}"


class BatchNorm1d(nn.Module):
    """The lecture's batchnorm: unbiased batch variance, running stats by momentum.

    For 3-D input (B, T, C) it normalises over both B and T (the lecture's fix). With
    `lecture_bug=True` it normalises over B only, as the lecture first did by mistake,
    which keeps separate running statistics per position; that reproduces the row of the
    performance log recorded before the fix.
    """

    # Buffers (register_buffer): declared so that reading them gives a Tensor to type checkers.
    running_mean: torch.Tensor
    running_var: torch.Tensor

    def __init__(self, dim: int, eps: float = 1e-5, momentum: float = 0.1, lecture_bug: bool = False):
        super().__init__()
        self.eps = eps
        self.momentum = momentum
        self.lecture_bug = lecture_bug
        self.gamma = nn.Parameter(torch.ones(dim))
        self.beta = nn.Parameter(torch.zeros(dim))
        self.register_buffer("running_mean", torch.zeros(dim))
        self.register_buffer("running_var", torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            dims = 0 if x.ndim == 2 or self.lecture_bug else (0, 1)
            xmean = x.mean(dims, keepdim=True)
            xvar = x.var(dims, keepdim=True)
        else:
            xmean = self.running_mean
            xvar = self.running_var
        xhat = (x - xmean) / torch.sqrt(xvar + self.eps)
        out = self.gamma * xhat + self.beta
        if self.training:
            # Stored without the reduced leading dims: (C,) normally, (T, C) with the bug.
            shape = xmean.shape[1:] if xmean.ndim == 3 and self.lecture_bug else xmean.shape[-1:]
            stats = (self, xmean.reshape(shape), xvar.reshape(shape))
            if _pending_stats is not None:  # inside Sequential's training forward: applied at its end
                _pending_stats.append(stats)
            else:
                update_running_stats([stats])
        return out

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # With the lecture's bug the running stats become (T, C) after the first batch;
        # take the saved shape so such a checkpoint loads into a freshly built model.
        for name in ("running_mean", "running_var"):
            saved = state_dict.get(prefix + name)
            if saved is not None and saved.shape != getattr(self, name).shape:
                setattr(self, name, torch.empty_like(saved, device=getattr(self, name).device))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return f"{self.gamma.numel()}, lecture_bug={self.lecture_bug}"


# While a Sequential runs its training forward, its batchnorms queue their running-stat
# updates here and Sequential applies them together at the end (update_running_stats).
_pending_stats: list | None = None


@torch.no_grad()
def update_running_stats(stats: list[tuple[BatchNorm1d, torch.Tensor, torch.Tensor]]) -> None:
    """running = (1 - momentum) * running + momentum * batch_stat, for many batchnorms at once.

    The lecture's arithmetic bit for bit (each product rounded, then their sum: a foreach
    op rounds each element as the single-tensor op does), in 3 multi-tensor ops instead
    of 6 small ops per batchnorm. The buffers are replaced, not updated in place, as in
    the lecture; writing `_buffers` directly skips nn.Module.__setattr__'s checks.
    """
    by_momentum: dict[float, list] = {}
    for entry in stats:
        by_momentum.setdefault(entry[0].momentum, []).append(entry)
    for momentum, group in by_momentum.items():
        olds = [norm._buffers[name] for norm, _, _ in group for name in ("running_mean", "running_var")]
        news = [stat for _, mean, var in group for stat in (mean, var)]
        updated = torch._foreach_add(torch._foreach_mul(olds, 1 - momentum), torch._foreach_mul(news, momentum))
        for i, (norm, _, _) in enumerate(group):
            norm._buffers["running_mean"], norm._buffers["running_var"] = updated[2 * i], updated[2 * i + 1]


def _has_hooks(modules: list[nn.Module]) -> bool:
    """Whether calling these modules' forward directly would skip a registered hook."""
    if (
        _nn_module._global_forward_hooks
        or _nn_module._global_forward_pre_hooks
        or _nn_module._global_backward_hooks
        or _nn_module._global_backward_pre_hooks
    ):
        return True
    return any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks or m._backward_pre_hooks for m in modules)


class Tanh(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x)


class Sequential(nn.Module):
    """A stack of layers applied in order (the lecture's Sequential container)."""

    def __init__(self, layers: list[nn.Module], block_size: int, vocab_size: int):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.block_size = block_size
        self.vocab_size = vocab_size

    # A ModuleList's items are typed Module: the first layer is the model's Embedding, the last its output Linear.
    @property
    def embedding(self) -> Embedding:
        return typing.cast(Embedding, self.layers[0])

    @property
    def output(self) -> Linear:
        return typing.cast(Linear, self.layers[-1])

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """(B, block_size) contexts [, (B,) next characters] -> (logits (B, vocab), loss or None)."""
        x = self._run_layers(idx)
        return x, next_char_loss(x, targets)

    def _run_layers(self, x: torch.Tensor) -> torch.Tensor:
        """The layers in order; in training the batchnorms' running stats are updated together at the end.

        At the lecture's sizes a step is bound by per-call overhead: nn.Module.__call__
        costs a few microseconds a layer, so with no hooks registered (diagnostics
        registers some) each layer's forward is called directly.
        """
        global _pending_stats
        layers = list(self.layers._modules.values())
        calls = [layer.__call__ for layer in layers] if _has_hooks(layers) else [layer.forward for layer in layers]
        if not self.training:
            for call in calls:
                x = call(x)
            return x
        outer, _pending_stats = _pending_stats, []
        try:
            for call in calls:
                x = call(x)
            if _pending_stats:
                update_running_stats(_pending_stats)
        finally:
            _pending_stats = outer
        return x
