"""Evaluation by words gives the window-by-window number for every model that reads words, and
never a wrong one: windows that are not whole words in order fall back to the windows."""

from __future__ import annotations

import pytest
import torch

from wavenet_harness.base.data import Vocabulary, build_windows
from wavenet_harness.models import build_model
from wavenet_harness.training.evaluation import EvalSplit, WordSplit, evaluate_split, reads_words

# "maximilianoxyz" is longer than blocks 4 and 8: its later windows lose the start token
WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "x", "evelyn", "maximilianoxyz", "zoe"]
VOCAB = Vocabulary.from_words(WORDS)
WORD_MODELS = [
    ("conv", {}),
    ("conv", {"residual": True, "dropout": 0.1}),
    ("wavenet", {"norm": "layer"}),
    ("gru", {}),
    ("transformer", {"n_head": 2}),
]


def _model(name, options, block_size):
    torch.manual_seed(0)
    depth = 2 if name == "conv" else 1
    return build_model(name, VOCAB.size, block_size, 8, 12, depth, **options)


def _by_windows(model, X, Y):
    split = EvalSplit.of(X, Y)
    split.words = None
    return evaluate_split(model, split)


@pytest.mark.parametrize("block_size", [4, 8, 16])
@pytest.mark.parametrize("name,options", WORD_MODELS)
def test_words_give_the_windows_number(name, options, block_size):
    X, Y = build_windows(WORDS, VOCAB, block_size)
    model = _model(name, options, block_size)
    for _ in range(3):  # a few SGD steps so the logits are not near-uniform
        model.train()
        loss = model(X, Y)[1]
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= 0.5 * p.grad
                p.grad = None
    split = EvalSplit.of(X, Y)
    assert split.words is not None and reads_words(model)
    assert split.words.seqs.shape[0] == len(WORDS)
    assert evaluate_split(model, split) == pytest.approx(_by_windows(model, X, Y), rel=1e-6)
    assert model.training  # evaluation leaves the mode as it found it


def test_models_that_read_only_windows_keep_the_window_path():
    assert not reads_words(_model("hier", {}, 8)) and not reads_words(_model("mlp", {}, 8))
    assert reads_words(_model("gru", {}, 8))


def test_windows_out_of_word_order_fall_back_to_windows():
    X, Y = build_windows(WORDS, VOCAB, 8)
    order = torch.randperm(X.shape[0], generator=torch.Generator().manual_seed(1))
    assert WordSplit.of(X[order], Y[order]) is None
    assert WordSplit.of(X[:-1], Y[:-1]) is None  # cut inside a word: no end token last
    mixed = X.clone()
    mixed[3, -1] = (mixed[3, -1] + 1) % VOCAB.size  # one window that its word does not give
    assert WordSplit.of(mixed, Y) is None
    model = _model("transformer", {"n_head": 2}, 8)
    shuffled = EvalSplit.of(X[order], Y[order])
    assert shuffled.words is None
    assert evaluate_split(model, shuffled) == pytest.approx(_by_windows(model, X, Y), rel=1e-6)
