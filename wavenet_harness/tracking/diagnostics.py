"""The network health checks of makemore part 3, as TensorBoard tags (log.diagnostics=true).

Every `every` steps, for that step's forward pass, backward pass and update:

  network/tanh_saturation/<layer>   % of the tanh layer's outputs with |out| > 0.97
  network/activations/<layer>       histogram of the tanh layer's outputs
  network/activation_grads/<layer>  histogram of the loss gradient at those outputs
  network/grads/<param>             histogram of each parameter's gradient
  network/update_ratio/<param>      log10(std(update) / std(data)); the lecture's rule
                                    of thumb: about -3 is healthy

Layers are named by what they are, not by their index: `embedding`, `level1/linear`,
`level1/batchnorm`, `level1/tanh`, ... (`hidden1/...` in the flat MLP) and `output`, and
parameters by their layer: `level1/linear/weight`, `level2/batchnorm/gamma`. The tags
start with `network/` so that they sort after the loss curves in TensorBoard.

The update is measured as the parameter after the step minus before it, which for the
lecture's SGD is `-lr * grad` (the lecture's formula) and stays right for AdamW.

With fast=true the fused training step does not run the tanh layers one by one, so only
the gradient and update tags are written there.

It only observes: nothing here draws random numbers or writes into a tensor the loop
uses, so a run with diagnostics takes exactly the steps of a run without. On the other
steps the hooks return at once; evaluation and sampling (eval mode) are never recorded.
It knows the lecture's Tanh layer, nothing of configs or files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial

import torch
from torch import nn

from wavenet_harness.models.layers import BatchNorm1d, Embedding, FlattenConsecutive, Linear, Tanh

SATURATION_THRESHOLD = 0.97


class Diagnostics:
    """A trainer listener that writes the tags above into a SummaryWriter every `every` steps."""

    def __init__(self, model: nn.Module, writer, every: int = 1000, start_step: int = 0):
        self.writer = writer
        self.every = max(1, every)
        names = readable_layer_names(model)
        self.tanh_layers = [
            (names.get(name, name), m) for name, m in model.named_modules() if isinstance(m, (Tanh, nn.Tanh))
        ]
        self.params = [(readable_param_name(name, names), p) for name, p in model.named_parameters() if p.requires_grad]
        self.outputs: dict[str, torch.Tensor] = {}
        self.output_grads: dict[str, torch.Tensor] = {}
        self.before: dict[str, torch.Tensor] = {}
        self.hooks = [m.register_forward_hook(partial(self._on_tanh_output, name)) for name, m in self.tanh_layers]
        self._arm(start_step)

    # The trainer calls these three -------------------------------------------------

    def on_train_loss(self, step: int, loss: float, lr: float) -> None:
        pass

    def on_metrics(self, step: int, metrics: Mapping[str, float]) -> None:
        pass

    @torch.no_grad()
    def on_optimizer_step(self, step: int) -> None:
        """After step `step`'s update: write what was recorded, then arm for the next step."""
        if self.armed:
            self._write(step)
        self._arm(step + 1)

    # ----------------------------------------------------------------------------------

    def _arm(self, step: int) -> None:
        """Record the coming step if it is a diagnostics step; its parameters are the current ones."""
        self.armed = step % self.every == 0
        self.outputs.clear()
        self.output_grads.clear()
        self.before = {name: p.detach().clone() for name, p in self.params} if self.armed else {}

    def _on_tanh_output(self, name: str, module: nn.Module, inputs, output: torch.Tensor) -> None:
        if not (self.armed and module.training):
            return
        self.outputs[name] = output.detach()
        if output.requires_grad:
            output.register_hook(partial(self._on_output_grad, name))

    def _on_output_grad(self, name: str, grad: torch.Tensor) -> None:
        self.output_grads[name] = grad.detach()  # returns None: the gradient flows on unchanged

    def _write(self, step: int) -> None:
        for name, out in self.outputs.items():
            saturated = (out.abs() > SATURATION_THRESHOLD).float().mean().item() * 100
            self.writer.add_scalar(f"network/tanh_saturation/{name}", saturated, step)
            self.writer.add_histogram(f"network/activations/{name}", out.float().cpu(), step)
        for name, grad in self.output_grads.items():
            self.writer.add_histogram(f"network/activation_grads/{name}", grad.float().cpu(), step)
        for name, p in self.params:
            if p.grad is not None:
                self.writer.add_histogram(f"network/grads/{name}", p.grad.detach().float().cpu(), step)
            ratio = update_to_data_log10(p.detach() - self.before[name], p.detach())
            if ratio is not None:
                self.writer.add_scalar(f"network/update_ratio/{name}", ratio, step)

    def close(self) -> None:
        for hook in self.hooks:
            hook.remove()


def update_to_data_log10(update: torch.Tensor, data: torch.Tensor) -> float | None:
    """log10(std(update) / std(data)); None where it is undefined (one element, zero std)."""
    if data.numel() < 2:
        return None
    update_std, data_std = update.float().std().item(), data.float().std().item()
    if not (update_std > 0 and data_std > 0 and math.isfinite(update_std) and math.isfinite(data_std)):
        return None
    return math.log10(update_std / data_std)


KIND_NAMES = {Embedding: "embedding", Linear: "linear", BatchNorm1d: "batchnorm", Tanh: "tanh", nn.Tanh: "tanh"}


def readable_layer_names(model: nn.Module) -> dict[str, str]:
    """{'layers.4': 'level1/tanh', ...} for the lecture's stacks; other modules keep their names.

    A level is a Linear with what follows it up to the next Linear; the last Linear is the
    output. The hier tree (and conv) flattens before every level, the MLP only once, so
    their levels read `level<k>` and `hidden<k>`.
    """
    stacks = [
        (name, m.layers) for name, m in model.named_modules() if isinstance(getattr(m, "layers", None), nn.ModuleList)
    ]
    if not stacks:
        return {}
    prefix, layers = stacks[0]  # the model itself, or the one a wrapper (amp) holds
    prefix = f"{prefix}.layers." if prefix else "layers."
    modules = list(layers)
    linears = [i for i, m in enumerate(modules) if isinstance(m, Linear)]
    if not linears:
        return {}
    flattens = sum(isinstance(m, FlattenConsecutive) for m in modules)
    level_word = "level" if flattens > 1 else "hidden"
    names, level = {}, 0
    for index, module in enumerate(modules):
        kind = KIND_NAMES.get(type(module))
        if kind is None:
            continue
        if index == linears[-1]:
            names[f"{prefix}{index}"] = "output"
            continue
        if isinstance(module, Linear):
            level += 1
        names[f"{prefix}{index}"] = kind if level == 0 else f"{level_word}{level}/{kind}"
    return names


def readable_param_name(name: str, layer_names: dict[str, str]) -> str:
    """'layers.2.weight' -> 'level1/linear/weight'; unknown names with '/' for '.'."""
    module, _, param = name.rpartition(".")
    return f"{layer_names[module]}/{param}" if module in layer_names else name.replace(".", "/")
