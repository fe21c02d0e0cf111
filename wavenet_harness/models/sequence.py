"""The context of the sequence models (`model=gru`, `model=transformer`): the window, read from its start token.

Every model in the harness predicts the next character from the block_size characters
before it, '.'-padded at the start of a word (the lecture's windows). The recurrent and
attention models read that same window, but from the word's start token on: in a window
of k leading '.'s, the first k-1 are padding and are not read, so a model sees
'.' + the word so far at positions 0, 1, 2, ... (learned positions then mean "distance
from the start of the word"). A window with no '.' (a word longer than the block) is
read whole. Either way the prediction depends on the window's characters only.

Read this way, one causal pass over '.' + word predicts every position whose window
still holds the start token, which is what makes training on whole words cheap:
  - `model(idx, targets)` on (B, block_size) windows: each window is shifted left to
    start at its start token (the tail it leaves is never read: causal), one causal pass,
    the output at the window's last character -> (B, vocab) logits;
  - `model(seq, targets, lengths)` on a `WordBatches` batch (block_size '.'s, the word,
    padding): one causal pass over '.' + word for the first block_size positions; words
    longer than that add one pass per later window (none on names.txt with block_size
    16) -> (B, positions, vocab) logits, equal to the window path's on every window.

`StartAlignedModel` holds that logic; a subclass gives `features(tokens)`, a causal map
(N, T) token ids -> (N, T, C), and a `head` C -> vocab. It knows nothing of configs,
training or files.
"""

from __future__ import annotations

import torch
from torch import nn

from wavenet_harness.models.layers import next_char_loss

START_TOKEN = 0  # '.', the vocabulary's index 0: the start padding and the end token
# Windows per pass when no gradient is kept (evaluation hands over up to 65,536 at once):
# every window's activations are block_size positions deep, so bound the peak memory.
EVAL_CHUNK = 4096


def in_chunks(logits_of, windows: torch.Tensor) -> torch.Tensor:
    """logits_of(windows), EVAL_CHUNK windows at a time when no gradient is kept (rows are independent)."""
    if torch.is_grad_enabled() or windows.shape[0] <= EVAL_CHUNK:
        return logits_of(windows)
    return torch.cat([logits_of(part) for part in windows.split(EVAL_CHUNK)])


def start_aligned(windows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, T) '.'-padded windows -> (tokens shifted to begin at the start token, index of
    each window's last character in them)."""
    T = windows.shape[1]
    read = windows != START_TOKEN
    # k leading '.'s (T for an all-'.' window: the start of a word); k-1 of them are padding
    leading = torch.where(read.any(1), read.int().argmax(1), torch.full_like(read[:, 0], T, dtype=torch.long))
    shift = (leading - 1).clamp(min=0)
    positions = (torch.arange(T, device=windows.device) + shift.unsqueeze(1)).clamp(max=T - 1)
    return windows.gather(1, positions), T - 1 - shift


class StartAlignedModel(nn.Module):
    """A causal sequence model that reads each window from its start token (module docstring)."""

    def __init__(self, block_size: int, vocab_size: int):
        super().__init__()
        self.block_size = block_size
        self.vocab_size = vocab_size

    def features(self, tokens: torch.Tensor) -> torch.Tensor:
        """(N, T <= block_size) token ids -> (N, T, C); output t may depend on tokens 0..t only."""
        raise NotImplementedError

    def head(self, h: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, lengths: torch.Tensor | None = None):
        """Windows (B, block_size) -> ((B, vocab) logits, loss); with `lengths`, whole words
        (a WordBatches batch) -> ((B, positions, vocab) logits, loss over every position)."""
        logits = self.forward_sequence(idx) if lengths is not None else in_chunks(self.forward_windows, idx)
        return logits, next_char_loss(logits, targets)

    def forward_windows(self, windows: torch.Tensor) -> torch.Tensor:
        """(N, block_size) windows -> (N, vocab): each read from its start token, the output at its last character."""
        tokens, last = start_aligned(windows)
        h = self.features(tokens)
        return self.head(h[torch.arange(h.shape[0], device=h.device), last])

    def forward_sequence(self, seq: torch.Tensor) -> torch.Tensor:
        """(B, L) rows of block_size '.'s + word + padding -> (B, L - block_size + 1, vocab):
        output j predicts from the window seq[:, j : j + block_size]."""
        T = self.block_size
        stream = seq[:, T - 1 :]  # '.' + word (+ padding)
        positions = stream.shape[1]
        logits = self.head(self.features(stream[:, : min(positions, T)]))
        if positions > T:  # windows that no longer hold the start token: one pass each
            windows = stream.unfold(1, T, 1)[:, 1:]  # (B, positions - T, T), each ending at position T, T+1, ...
            B, W, _ = windows.shape
            later = self.head(self.features(windows.reshape(B * W, T))[:, -1])
            logits = torch.cat([logits, later.view(B, W, -1)], dim=1)
        return logits
