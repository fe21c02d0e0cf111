"""Whole-split evaluation: the mean next-character loss over every window of a split.

`EvalSplit.of(X, Y)` prepares a split once (it is evaluated every eval_interval), and
`evaluate_split` scores a model on it in eval mode, without gradients, in one of two ways.

Window by window, each distinct context once: names.txt's 182,625 training windows hold
about 50,000 distinct contexts (every word starts with '........', '.......a', ...), and in
eval mode a row's logits depend on that row alone.

By words, for the models that predict every position of a word in one pass. A split's
windows come word after word: the windows of '.'*block_size + word, one per character and
one for the end token (Y == 0). A model whose forward accepts `lengths` (conv, wavenet,
gru, transformer) gives, from one pass over '.'*block_size + word, the logits each of
those windows would give (tested for every such model). Running each word once instead of
each window saves most of the work: the val split's 22,655 windows are 3,203 words.

`WordSplit.of(X, Y)` rebuilds the words from the windows and keeps them only when
rebuilding the windows from them gives X back exactly, so windows in any other order (or
from another source) fall back to window-by-window evaluation, never to a wrong number.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch
from torch import nn

from wavenet_harness.base import interrupts

END_TOKEN = 0  # '.': ends every word's run of windows
WORDS_PER_PASS = 512  # rows per forward pass: big enough to amortise overhead, small enough for cache


@dataclass
class WordSplit:
    seqs: torch.Tensor  # (words, block_size + longest): block_size '.'s, the word, '.' padding
    targets: torch.Tensor  # (words, longest + 1): each position's next character, -1 past the end
    lengths: torch.Tensor  # (words,): block_size + len(word), as WordBatches gives the model
    block_size: int

    @classmethod
    def of(cls, X: torch.Tensor, Y: torch.Tensor) -> WordSplit | None:
        """The words behind windows (X, Y), or None when the windows are not whole words in order."""
        if X.ndim != 2 or Y.ndim != 1 or X.shape[0] != Y.shape[0] or X.shape[0] == 0:
            return None
        if X.dtype not in (torch.int32, torch.int64) or int(Y[-1]) != END_TOKEN:
            return None
        N, T = X.shape
        ends = Y == END_TOKEN
        word = torch.cumsum(ends.long(), 0) - ends.long()  # the word each window belongs to
        starts = torch.nonzero(torch.cat([ends.new_ones(1), ends[:-1]])).squeeze(1)
        position = torch.arange(N, device=X.device) - starts[word]  # window's index within its word
        n_words, longest = int(ends.sum()), int(position.max())
        seqs = torch.full((n_words, T + longest), END_TOKEN, dtype=torch.long, device=X.device)
        chars = ~ends
        seqs[word[chars], T + position[chars]] = Y[chars].long()
        targets = torch.full((n_words, longest + 1), -1, dtype=torch.long, device=X.device)
        targets[word, position] = Y.long()
        lengths = T + torch.bincount(word, minlength=n_words) - 1
        # The windows these words give must be X itself, row for row.
        rebuilt = seqs[word[:, None], position[:, None] + torch.arange(T, device=X.device)]
        if not torch.equal(rebuilt, X.long()):
            return None
        return cls(seqs, targets, lengths, T)


def reads_words(model: nn.Module) -> bool:
    """Whether model(seq, targets, lengths) gives every position's logits (the word models)."""
    try:
        return "lengths" in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False


def word_log_likelihood(model: nn.Module, words: WordSplit) -> torch.Tensor:
    """Sum over every predicted character of log p(target), in float64; eval mode and no grad are the caller's."""
    order = torch.argsort(words.lengths)  # similar lengths together: little padding per pass
    total = torch.zeros((), dtype=torch.float64, device=words.seqs.device)
    for part in order.split(WORDS_PER_PASS):
        interrupts.check()  # a stop signal ends a long evaluation between passes
        lengths = words.lengths[part]
        width = int(lengths.max())
        seq = words.seqs[part, :width]
        targets = words.targets[part, : width - words.block_size + 1]
        logits = model(seq, None, lengths)[0]
        logp = torch.log_softmax(logits.float(), dim=-1)
        valid = targets >= 0
        total += logp[valid].gather(1, targets[valid][:, None]).double().sum()
    return total


@dataclass
class EvalSplit:
    """A split prepared for evaluation: its distinct contexts, where each window's is, and its words."""

    contexts: torch.Tensor  # (distinct rows, block_size), or all of X when few repeat
    inverse: torch.Tensor | None  # row of `contexts` for each window; None: contexts is X
    Y: torch.Tensor
    words: WordSplit | None = None  # the same windows as whole words, for models that read words

    @classmethod
    def of(cls, X: torch.Tensor, Y: torch.Tensor) -> EvalSplit:
        split = cls._distinct(X, Y)
        split.words = WordSplit.of(X, Y)
        return split

    @classmethod
    def _distinct(cls, X: torch.Tensor, Y: torch.Tensor) -> EvalSplit:
        if X.ndim != 2 or X.dtype not in (torch.int32, torch.int64) or X.shape[0] < 2:
            return cls(X, None, Y)
        base = int(X.max()) + 1
        if base ** X.shape[1] >= 2**62:  # contexts too long to pack into one int64 each
            return cls(X, None, Y)
        powers = torch.tensor([base**k for k in range(X.shape[1])], dtype=torch.int64, device=X.device)
        distinct, inverse = torch.unique((X.to(torch.int64) * powers).sum(1), return_inverse=True)
        if distinct.shape[0] > 0.8 * X.shape[0]:
            return cls(X, None, Y)
        first = torch.empty(distinct.shape[0], dtype=torch.int64, device=X.device)
        first.scatter_(0, inverse, torch.arange(X.shape[0], device=X.device))
        return cls(X[first], inverse, Y)


def evaluate(model: nn.Module, X: torch.Tensor, Y: torch.Tensor) -> float:
    """Mean cross-entropy over a whole split, in eval mode (batchnorm's running stats)."""
    return evaluate_split(model, EvalSplit.of(X, Y))


# Rows per forward pass: a few thousand keep the activations in cache, which at the
# lecture's sizes is about 3x faster than one huge batch.
EVAL_CHUNK = 2048


@torch.inference_mode()
def evaluate_split(model: nn.Module, split: EvalSplit, chunk: int | None = None) -> float:
    """evaluate() on a prepared split, EVAL_CHUNK rows at a time. Models that read whole
    words run each word once (WordSplit): the same number, far cheaper. During training a
    stop signal between chunks raises interrupts.Interrupted (wavenet_harness/base/interrupts.py)."""
    chunk = chunk or EVAL_CHUNK
    was_training = model.training
    model.eval()
    try:
        if split.words is not None and reads_words(model):
            return (-word_log_likelihood(model, split.words) / split.Y.shape[0]).item()
        logps = []
        for start in range(0, split.contexts.shape[0], chunk):
            interrupts.check()  # a stop signal ends a long evaluation between chunks
            logps.append(torch.log_softmax(model(split.contexts[start : start + chunk])[0].float(), dim=-1))
        logp = torch.cat(logps)
        picked = logp.gather(1, split.Y[:, None])[:, 0] if split.inverse is None else logp[split.inverse, split.Y]
        total = picked.double().sum()
    finally:
        model.train(was_training)
    return (-total / split.Y.shape[0]).item()
