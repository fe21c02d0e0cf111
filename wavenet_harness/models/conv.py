"""`model=conv`: the lecture's WaveNet tree run as a dilated causal convolution.

The hier model reads a window of block_size characters bottom-up: level 0 fuses groups
of g neighbouring characters, every level above fuses pairs. Slid along a whole word,
neighbouring windows share most of that work, so the same weights applied as a
convolution (kernel g with dilation 1, then kernel 2 with dilations g, 2g, 4g, ...)
compute every window's prediction in one pass: one Linear per level and position,
instead of 2**depth - 1 per window.

`ConvWaveNet` holds exactly the hier model's layers (same init, same random draws, same
state_dict keys), so:
  - `model(idx, targets)` on (B, block_size) contexts is the hier model's forward, unchanged:
    evaluation, sampling and the lecture's window batches work as for every model;
  - `model(seq, targets, lengths)` on '.'-padded words (a batch of `WordBatches`) gives the
    logits at every position (`forward_sequence`) and their mean loss; in eval mode they
    equal the hier model's on each window. In training mode
    batchnorm uses the statistics of the valid positions of the batch (a different batch
    than the hier model's windows, so training differs; the model does not).

`WordBatches` (base/data.py) is the batch source that trains on every position of every
word (`model.all_positions=true`); the training loop draws from it as from the lecture's
window batches and hands the batch to the model, which computes its loss.

Two options go beyond the lecture (both off by default, so the model stays the lecture's):
  - `dropout`: zero a fraction of each level's outputs in training (names.txt is small:
    wide models overfit it within minutes);
  - `residual`: every level above the bottom adds its newest input to its output, as in
    WaveNet's residual blocks, so a level can pass a position's features through.
With either one on, `model(idx)` on windows also runs as the convolution (one output per
window), so evaluation and sampling see the same model that trained.

It knows nothing of configs beyond its own options, of the training loop or of files.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from wavenet_harness.base.run_config import ModelOptions, key
from wavenet_harness.models.layers import BatchNorm1d, Linear, Sequential, next_char_loss
from wavenet_harness.models.spec import ModelSpec, check_dropout
from wavenet_harness.models.tree import build_hier, check_tree, hier_group_sizes


class ConvWaveNet(Sequential):
    """The hier model's layers; `forward` is the hier model's, `forward_sequence` the convolution."""

    def __init__(
        self,
        layers: list[nn.Module],
        block_size: int,
        vocab_size: int,
        groups: list[int],
        dropout: float = 0.0,
        residual: bool = False,
    ):
        super().__init__(layers, block_size, vocab_size)
        check_dropout(dropout)
        self.dropout = float(dropout)
        self.residual = bool(residual)
        self.groups = list(groups)
        # Level l fuses `groups[l]` positions `dilations[l]` apart; after it a position
        # has seen `fields[l]` consecutive characters.
        self.dilations = [1] + [groups[0] * 2 ** (level - 1) for level in range(1, len(groups))]
        self.fields = [groups[0] * 2**level for level in range(len(groups))]
        # Plain lists, not registered again, so the state_dict keys stay the hier model's.
        self.linears: list[Linear] = [m for m in layers[1:-1] if isinstance(m, Linear)]
        self.norms: list[BatchNorm1d] = [m for m in layers if isinstance(m, BatchNorm1d)]

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, lengths: torch.Tensor | None = None):
        """Windows (B, block_size) -> ((B, vocab) logits, loss); with `lengths`, whole words
        (a WordBatches batch) -> ((B, positions, vocab) logits, loss over every position)."""
        if lengths is not None:
            logits = self.forward_sequence(idx, lengths)
        elif self.dropout == 0.0 and not self.residual:
            return super().forward(idx, targets)  # the hier model's tree, unchanged
        else:
            logits = self.forward_sequence(idx)[:, 0]  # (B, block_size) windows: one output each
        return logits, next_char_loss(logits, targets)

    def forward_sequence(self, seq: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """(B, L) token ids -> (B, L - block_size + 1, vocab) logits, one per window.

        Row b is block_size '.' tokens, a word and (for shorter words) any padding;
        `lengths[b]` counts its real tokens (block_size + len(word)). Output j is the
        prediction from seq[b, j : j + block_size]; batchnorm statistics in training
        use only outputs whose window lies inside the real tokens.
        """
        B, L = seq.shape
        if lengths is None:
            lengths = torch.full((B,), L, dtype=torch.long, device=seq.device)
        x = self.embedding.weight[seq]  # (B, L, C)
        for level, (linear, norm) in enumerate(zip(self.linears, self.norms, strict=True)):
            group, dilation = self.groups[level], self.dilations[level]
            width = x.shape[1] - (group - 1) * dilation
            taps = [x[:, k * dilation : k * dilation + width] for k in range(group)]
            z = torch.cat(taps, dim=-1) @ linear.weight  # (B, width, H)
            if self.training:
                valid = torch.arange(width, device=seq.device) <= (lengths - self.fields[level]).unsqueeze(1)
                zv = z[valid]  # (rows whose window is all real tokens, H)
                mean, var = zv.mean(0), zv.var(0)
                with torch.no_grad():
                    norm.running_mean = (1 - norm.momentum) * norm.running_mean + norm.momentum * mean
                    norm.running_var = (1 - norm.momentum) * norm.running_var + norm.momentum * var
            else:
                mean, var = norm.running_mean, norm.running_var
            h = torch.tanh(norm.gamma * ((z - mean) / torch.sqrt(var + norm.eps)) + norm.beta)
            if self.dropout > 0.0 and self.training:
                h = F.dropout(h, self.dropout, training=True)
            if self.residual and level > 0:
                h = h + taps[-1]  # the newest input position, the one this output sits at
            x = h
        output = self.output
        assert output.bias is not None  # the output layer is built with its bias (tree.py's _output_layer)
        return x @ output.weight + output.bias


@dataclass(frozen=True)
class ConvOptions(ModelOptions):
    """model=conv: the hier tree as a dilated causal convolution over whole words."""

    name: str = "conv"
    all_positions: bool = key(
        True,
        "train on every position of each batch's words (batch_size counts words); "
        "false: the lecture's random windows, exactly like model=hier",
    )
    dropout: float = key(0.0, "fraction of each level's outputs zeroed in training (0: none, the lecture)")
    residual: bool = key(False, "levels above the bottom add their newest input to their output")


def build_conv(
    vocab_size: int,
    block_size: int,
    n_embd: int,
    n_hidden: int,
    depth: int,
    all_positions: bool,
    dropout: float,
    residual: bool,
) -> ConvWaveNet:
    """The hier model's layers (same draws) run as a dilated causal convolution.

    `all_positions` chooses the batch source (models.run_batches), not the model.
    """
    check_dropout(dropout)
    hier = build_hier(vocab_size, block_size, n_embd, n_hidden, depth, batchnorm_bug=False)
    groups = hier_group_sizes(block_size, depth)
    return ConvWaveNet(list(hier.layers), block_size, vocab_size, groups, dropout=dropout, residual=residual)


# The lecture's window batches, or whole words with all_positions (the config's default).
SPEC = ModelSpec(
    ConvOptions,
    build_conv,
    check=check_tree,
    reads_words=lambda options: options.all_positions,
    hparam_columns={"residual": False, "dropout": 0.0},
)
