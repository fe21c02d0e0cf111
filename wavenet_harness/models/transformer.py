"""`model=transformer`: a small decoder-only transformer, as makemore.py and nanoGPT's model.py build it.

token + learned position embeddings -> `depth` pre-norm blocks (LayerNorm -> causal
multi-head self-attention -> residual; LayerNorm -> MLP with GELU -> residual) -> LayerNorm
-> linear head. Attention is `F.scaled_dot_product_attention` with a causal mask.
Dropout (model.dropout) acts on the embeddings, the attention weights and each block's
two residual branches, as in nanoGPT. Weights start as nanoGPT's: normal(0, 0.02), the
projections into the residual stream scaled by 1/sqrt(2 * depth).

The context is the lecture's window of block_size characters, read from its start token
(models/sequence.py): positions count from the word's start, so one causal pass over a
whole word predicts every position, and the lecture's val windows score the same model.
It knows nothing of configs beyond its own options, of training or of files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from wavenet_harness.base.errors import ConfigError
from wavenet_harness.base.run_config import ModelOptions, key
from wavenet_harness.models.sequence import StartAlignedModel
from wavenet_harness.models.spec import ModelSpec, check_dropout


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd: int, n_head: int, dropout: float):
        super().__init__()
        self.n_head = n_head
        self.dropout = dropout
        self.qkv = nn.Linear(n_embd, 3 * n_embd)
        self.proj = nn.Linear(n_embd, n_embd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.n_head, C // self.n_head).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True)
        y = y.transpose(1, 2).reshape(B, T, C)
        return F.dropout(self.proj(y), self.dropout, self.training)


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, n_embd: int, n_head: int, n_hidden: int, dropout: float):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(n_embd, n_hidden), nn.GELU(), nn.Linear(n_hidden, n_embd), nn.Dropout(dropout)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(StartAlignedModel):
    def __init__(
        self, vocab_size: int, block_size: int, n_embd: int, n_hidden: int, depth: int, n_head: int, dropout: float
    ):
        super().__init__(block_size, vocab_size)
        self.dropout = float(dropout)
        self.token_embedding = nn.Embedding(vocab_size, n_embd)
        self.position_embedding = nn.Embedding(block_size, n_embd)
        self.blocks = nn.ModuleList(Block(n_embd, n_head, n_hidden, self.dropout) for _ in range(depth))
        self.ln_f = nn.LayerNorm(n_embd)
        self.output = nn.Linear(n_embd, vocab_size)
        for name, p in self.named_parameters():
            if p.ndim == 2:
                residual_projection = name.endswith("attn.proj.weight") or name.endswith("mlp.2.weight")
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * depth) if residual_projection else 0.02)
            elif not name.startswith("ln") and ".ln_" not in name:
                nn.init.zeros_(p)  # biases

    def features(self, tokens: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        x = F.dropout(self.token_embedding(tokens) + self.position_embedding(positions), self.dropout, self.training)
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x)

    def head(self, h: torch.Tensor) -> torch.Tensor:
        return self.output(h)


def transformer_param_count(vocab_size: int, block_size: int, n_embd: int, n_hidden: int, depth: int) -> int:
    """Embeddings + depth blocks (two LayerNorms, qkv, projection, MLP) + final LayerNorm + head."""
    block = (
        4 * n_embd
        + (n_embd + 1) * 3 * n_embd
        + (n_embd + 1) * n_embd
        + (n_embd + 1) * n_hidden
        + (n_hidden + 1) * n_embd
    )
    return (vocab_size + block_size) * n_embd + depth * block + 2 * n_embd + (n_embd + 1) * vocab_size


@dataclass(frozen=True)
class TransformerOptions(ModelOptions):
    """model=transformer: n_embd is the residual stream's width, n_hidden the MLP's, depth the blocks."""

    name: str = "transformer"
    n_head: int = key(4, "attention heads; must divide n_embd")
    dropout: float = key(0.0, "on embeddings, attention weights and each residual branch, in training")


def check_transformer(block_size: int, n_embd: int, n_hidden: int, depth: int, n_head: int, dropout: float) -> None:
    """The rules of model=transformer's keys, before any data loads."""
    if n_head < 1 or n_embd % n_head:
        raise ConfigError(
            f"model.n_head={n_head} is not allowed with n_embd={n_embd}: the heads split n_embd evenly; "
            f"use a divisor of {n_embd} or change n_embd"
        )
    check_dropout(dropout)


def build_transformer(
    vocab_size: int,
    block_size: int,
    n_embd: int,
    n_hidden: int,
    depth: int,
    n_head: int,
    dropout: float,
) -> Transformer:
    """n_embd: the residual stream's width; n_hidden: the MLP's width (nanoGPT: 4 * n_embd);
    depth: blocks; n_head: attention heads (each n_embd / n_head wide)."""
    check_transformer(block_size, n_embd, n_hidden, depth, n_head, dropout)
    return Transformer(vocab_size, block_size, n_embd, n_hidden, depth, n_head, dropout)


SPEC = ModelSpec(
    TransformerOptions,
    build_transformer,
    check=check_transformer,
    reads_words=True,
    hparam_columns={"dropout": 0.0, "n_head": 0},
)
