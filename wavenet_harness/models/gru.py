"""`model=gru`: the recurrent baseline, makemore.py's GRU run by torch's fused `nn.GRU`.

embedding (n_embd) -> a GRU of `depth` layers and n_hidden units, started from a learned
state, read over '.' + the word so far -> linear head to the next character's logits.
makemore writes the GRU cell by hand and steps it in Python; `nn.GRU` computes the same
recurrence (torch's gate layout) in one fused op per layer, several times faster on a CPU.

The context is the lecture's window of block_size characters, read from its start token
(models/sequence.py), so a batch of whole words trains every position in one pass and
the lecture's val windows score the same model. It knows nothing of configs beyond its
own options, of training or of files.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from wavenet_harness.base.errors import ConfigError
from wavenet_harness.base.run_config import ModelOptions, key
from wavenet_harness.models.sequence import StartAlignedModel
from wavenet_harness.models.spec import ModelSpec, check_dropout


class GRULanguageModel(StartAlignedModel):
    def __init__(self, vocab_size: int, block_size: int, n_embd: int, n_hidden: int, layers: int, dropout: float):
        super().__init__(block_size, vocab_size)
        self.dropout = float(dropout)
        self.embedding = nn.Embedding(vocab_size, n_embd)
        self.gru = nn.GRU(
            n_embd, n_hidden, num_layers=layers, batch_first=True, dropout=self.dropout if layers > 1 else 0.0
        )
        self.start = nn.Parameter(torch.zeros(layers, 1, n_hidden))  # the learned state before the first token
        self.output = nn.Linear(n_hidden, vocab_size)

    def features(self, tokens: torch.Tensor) -> torch.Tensor:
        x = F.dropout(self.embedding(tokens), self.dropout, self.training)
        h0 = self.start.expand(-1, tokens.shape[0], -1).contiguous()
        out, _ = self.gru(x, h0)
        return F.dropout(out, self.dropout, self.training)

    def head(self, h: torch.Tensor) -> torch.Tensor:
        return self.output(h)


def gru_param_count(vocab_size: int, n_embd: int, n_hidden: int, layers: int) -> int:
    """Embedding + GRU (3 gates: input and recurrent weights and biases per layer) + start state + head."""
    gru = 3 * n_hidden * (n_embd + n_hidden + 2) + (layers - 1) * 3 * n_hidden * (2 * n_hidden + 2)
    return vocab_size * n_embd + gru + layers * n_hidden + (n_hidden + 1) * vocab_size


@dataclass(frozen=True)
class GRUOptions(ModelOptions):
    """model=gru: n_embd is the embedding's width, n_hidden the GRU's units, depth its layers."""

    name: str = "gru"
    dropout: float = key(0.0, "on the embeddings, between GRU layers and before the head, in training")


def check_gru(block_size: int, n_embd: int, n_hidden: int, depth: int, dropout: float) -> None:
    """The rules of model=gru's keys, before any data loads."""
    if depth < 1:
        raise ConfigError(f"depth={depth} is not allowed: model=gru needs at least one GRU layer")
    check_dropout(dropout)


def build_gru(
    vocab_size: int,
    block_size: int,
    n_embd: int,
    n_hidden: int,
    depth: int,
    dropout: float,
) -> GRULanguageModel:
    """n_embd: embedding width; n_hidden: GRU units; depth: GRU layers; dropout: on the
    embeddings, between layers and before the head."""
    check_gru(block_size, n_embd, n_hidden, depth, dropout)
    return GRULanguageModel(vocab_size, block_size, n_embd, n_hidden, depth, dropout)


SPEC = ModelSpec(GRUOptions, build_gru, check=check_gru, reads_words=True, hparam_columns={"dropout": 0.0})
