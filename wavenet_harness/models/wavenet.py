"""`model=wavenet`: the stack of the WaveNet paper (van den Oord et al. 2016, section 2) on characters.

  causal embedding     each character -> n_embd residual channels (the paper's input layer
                       maps one-hot samples to the residual channels; an embedding is that map)
  residual layers      per layer, with dilation d:
                         z = W * x               kernel-2 causal convolution: taps x[t-d], x[t]
                         h = tanh(z_f) * sigmoid(z_g)    the gated activation (z = [z_f, z_g])
                         x = x + W_res h         1x1 residual projection (none on the last layer)
                         skip += W_skip h        1x1 skip projection to n_hidden skip channels
  output               ReLU(skip sum) -> 1x1 -> ReLU -> 1x1 -> next-character logits

Dilations double, 1, 2, 4, ..., as far as the context allows; `depth` dilation cycles
repeat the pattern (the paper's 1, ..., 512, 1, ..., 512). The receptive field, 1 + the
sum of the dilations, never exceeds block_size: one cycle with block_size 16 is 1, 2, 4, 8
(16 characters); two cycles are 1, 2, 4, 1, 2, 4 (15). So every prediction reads only the
lecture's window, like every model here.

Options: `norm=layer` puts a LayerNorm on each layer's input (per position, so causal);
`dropout` zeroes a fraction of each layer's gated output in training.

The convolutions are "valid" (no padding): each layer's output is d positions shorter
than its input. On (B, block_size) windows the stack leaves one output per window
(`model(idx)`); on a `WordBatches` batch (block_size '.'s + word + padding) it leaves one
per position of the word, each the window path's output on that window
(`model(seq, targets, lengths)`). It knows nothing of configs beyond its own options, of
training or of files.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from wavenet_harness.base.errors import ConfigError, one_of
from wavenet_harness.base.run_config import ModelOptions, key
from wavenet_harness.models.layers import next_char_loss
from wavenet_harness.models.sequence import in_chunks
from wavenet_harness.models.spec import ModelSpec, check_dropout

NORMS = ("none", "layer")


def wavenet_dilations(block_size: int, cycles: int) -> list[int]:
    """1, 2, 4, ... per cycle, as many doublings as keep cycles * (sum of a cycle) + 1 <= block_size."""
    if block_size < 2:
        raise ConfigError(f"block_size={block_size} is not allowed: model=wavenet needs block_size >= 2")
    if cycles < 1 or cycles + 1 > block_size:
        raise ConfigError(
            f"depth={cycles} is not allowed: model=wavenet's dilation cycles need one kernel-2 layer each "
            f"within block_size={block_size}; use depth from 1 to {block_size - 1}"
        )
    doublings = 1
    while cycles * (2 ** (doublings + 1) - 1) + 1 <= block_size:
        doublings += 1
    return [2**k for k in range(doublings)] * cycles


class ResidualLayer(nn.Module):
    """One dilated gated layer: kernel-2 causal convolution, tanh * sigmoid, 1x1 residual and skip."""

    def __init__(
        self, residual_channels: int, skip_channels: int, dilation: int, norm: str, dropout: float, last: bool
    ):
        super().__init__()
        self.dilation = dilation
        self.dropout = dropout
        self.norm = nn.LayerNorm(residual_channels) if norm == "layer" else None
        self.conv = nn.Linear(2 * residual_channels, 2 * residual_channels)  # both taps -> filter and gate
        self.residual = None if last else nn.Linear(residual_channels, residual_channels)
        self.skip = nn.Linear(residual_channels, skip_channels)

    def forward(self, x: torch.Tensor, outputs: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, L, R) -> ((B, L - dilation, R) residual stream, (B, outputs, S) skip of the last positions)."""
        d = self.dilation
        y = self.norm(x) if self.norm is not None else x
        z = self.conv(torch.cat([y[:, :-d], y[:, d:]], dim=-1))
        filt, gate = z.chunk(2, dim=-1)
        h = F.dropout(torch.tanh(filt) * torch.sigmoid(gate), self.dropout, self.training)
        skip = self.skip(h[:, -outputs:])
        if self.residual is None:
            return x[:, d:], skip
        return x[:, d:] + self.residual(h), skip


class WaveNet(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        block_size: int,
        residual_channels: int,
        skip_channels: int,
        dilations: list[int],
        norm: str,
        dropout: float,
    ):
        super().__init__()
        self.block_size = block_size
        self.vocab_size = vocab_size
        self.dilations = list(dilations)
        self.receptive_field = 1 + sum(self.dilations)
        self.embedding = nn.Embedding(vocab_size, residual_channels)
        self.layers = nn.ModuleList(
            ResidualLayer(residual_channels, skip_channels, d, norm, float(dropout), last=i == len(dilations) - 1)
            for i, d in enumerate(self.dilations)
        )
        self.head = nn.Sequential(
            nn.ReLU(), nn.Linear(skip_channels, skip_channels), nn.ReLU(), nn.Linear(skip_channels, vocab_size)
        )

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, lengths: torch.Tensor | None = None):
        """Windows (B, block_size) -> ((B, vocab) logits, loss); with `lengths`, whole words
        (a WordBatches batch) -> ((B, positions, vocab) logits, loss over every position)."""
        if lengths is None:
            logits = in_chunks(lambda windows: self.forward_sequence(windows)[:, 0], idx)
        else:
            logits = self.forward_sequence(idx)
        return logits, next_char_loss(logits, targets)

    def forward_sequence(self, seq: torch.Tensor) -> torch.Tensor:
        """(B, L >= block_size) token ids -> (B, L - block_size + 1, vocab).

        Output j reads seq[:, j : j + block_size]."""
        x = self.embedding(seq[:, self.block_size - self.receptive_field :])
        outputs = seq.shape[1] - self.block_size + 1
        skips = 0
        for layer in self.layers:
            x, skip = layer(x, outputs)
            skips = skips + skip
        return self.head(skips)


def wavenet_param_count(vocab_size: int, n_embd: int, n_hidden: int, layers: int, norm: str = "none") -> int:
    """Embedding + per layer (convolution R -> 2R over 2 taps, skip R -> S, LayerNorm) + residual
    1x1s on all layers but the last + the two-layer head."""
    R, S = n_embd, n_hidden
    per_layer = (2 * R + 1) * 2 * R + (R + 1) * S + (2 * R if norm == "layer" else 0)
    return vocab_size * R + layers * per_layer + (layers - 1) * (R + 1) * R + (S + 1) * S + (S + 1) * vocab_size


@dataclass(frozen=True)
class WaveNetOptions(ModelOptions):
    """model=wavenet: n_embd is the residual channels, n_hidden the skip channels, depth the dilation cycles."""

    name: str = "wavenet"
    norm: str = key("none", "none | layer (LayerNorm on each layer's input)")
    dropout: float = key(0.0, "fraction of each layer's gated output zeroed in training")


def check_wavenet(block_size: int, n_embd: int, n_hidden: int, depth: int, norm: str, dropout: float) -> None:
    """The rules of model=wavenet's keys, before any data loads."""
    one_of("model.norm", norm, NORMS)
    check_dropout(dropout)
    wavenet_dilations(block_size, depth)


def build_wavenet(
    vocab_size: int,
    block_size: int,
    n_embd: int,
    n_hidden: int,
    depth: int,
    norm: str,
    dropout: float,
) -> WaveNet:
    """n_embd: residual channels (the embedding's width); n_hidden: skip channels (and the
    head's); depth: dilation cycles."""
    check_wavenet(block_size, n_embd, n_hidden, depth, norm, dropout)
    return WaveNet(vocab_size, block_size, n_embd, n_hidden, wavenet_dilations(block_size, depth), norm, dropout)


SPEC = ModelSpec(
    WaveNetOptions,
    build_wavenet,
    check=check_wavenet,
    reads_words=True,
    hparam_columns={"dropout": 0.0, "norm": "none"},
)
