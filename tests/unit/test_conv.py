"""model=conv: the hier tree as a dilated convolution, and training on every position."""

from __future__ import annotations

import pytest
import torch

from wavenet_harness.base.data import Vocabulary, WordBatches, build_windows
from wavenet_harness.models import build_model

WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "x", "evelyn"]


def _pair(vocab_size, block_size, depth, n_embd=5, n_hidden=7):
    torch.manual_seed(0)
    hier = build_model("hier", vocab_size, block_size, n_embd, n_hidden, depth)
    torch.manual_seed(0)
    conv = build_model("conv", vocab_size, block_size, n_embd, n_hidden, depth)
    return hier, conv


@pytest.mark.parametrize("block_size,depth", [(8, 3), (8, 2), (16, 3), (4, 1)])
def test_conv_gives_the_hier_models_output_at_every_position(block_size, depth):
    vocab = Vocabulary.from_words(WORDS)
    hier, conv = _pair(vocab.size, block_size, depth)
    X, _ = build_windows(WORDS, vocab, block_size)
    hier.train()
    hier(X)  # non-trivial running statistics
    conv.load_state_dict(hier.state_dict())
    hier.eval(), conv.eval()
    with torch.no_grad():
        torch.testing.assert_close(_every_window(conv, vocab, block_size), hier(X)[0], rtol=1e-5, atol=1e-5)


def _every_window(conv, vocab, block_size):
    """One whole-word pass over WORDS, as the rows build_windows gives: each word's
    len(word)+1 windows in order, which are the valid conv outputs."""
    batches = WordBatches(WORDS, vocab.stoi, block_size, len(WORDS))
    per_position = conv.forward_sequence(batches.seqs, batches.lengths)
    return torch.cat([per_position[row, : len(word) + 1] for row, word in enumerate(WORDS)])


def test_conv_is_the_hier_model_on_windows_with_the_same_draws_and_keys():
    vocab = Vocabulary.from_words(WORDS)
    hier, conv = _pair(vocab.size, 8, 3)
    assert list(hier.state_dict()) == list(conv.state_dict())
    for a, b in zip(hier.state_dict().values(), conv.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    X, _ = build_windows(WORDS, vocab, 8)
    assert torch.equal(conv(X)[0], hier(X)[0])  # training mode too: model(idx) is hier's forward


def test_word_batches_hold_every_prediction_of_each_word():
    vocab = Vocabulary.from_words(WORDS)
    batches = WordBatches(WORDS, vocab.stoi, 8, 4)
    row = WORDS.index("ava")
    assert batches.seqs[row, :11].tolist() == [0] * 8 + vocab.encode("ava")
    assert batches.targets[row, :5].tolist() == vocab.encode("ava") + [0, -1]
    assert batches.lengths[row].item() == 11
    assert int((batches.targets >= 0).sum()) == sum(len(w) + 1 for w in WORDS)


def test_padding_does_not_change_training_outputs():
    """Batchnorm statistics use only real windows, so extra padding changes nothing."""
    vocab = Vocabulary.from_words(WORDS)
    _, conv = _pair(vocab.size, 8, 3)
    batches = WordBatches(WORDS, vocab.stoi, 8, len(WORDS))
    seqs, lengths = batches.seqs, batches.lengths
    padded = torch.cat([seqs, torch.zeros((seqs.shape[0], 5), dtype=torch.long)], dim=1)
    conv.train()
    a = conv.forward_sequence(seqs, lengths)
    b = conv.forward_sequence(padded, lengths)
    for row, word in enumerate(WORDS):
        torch.testing.assert_close(b[row, : len(word) + 1], a[row, : len(word) + 1])


def test_training_on_every_position_lowers_the_loss():
    vocab = Vocabulary.from_words(WORDS)
    _, conv = _pair(vocab.size, 8, 3, n_embd=8, n_hidden=16)
    batches = WordBatches(WORDS, vocab.stoi, 8, 8)
    optimizer = torch.optim.AdamW(conv.parameters(), lr=1e-2)
    torch.manual_seed(0)
    losses = []
    for _ in range(60):
        _, loss = conv(*batches.draw())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.5


def _conv(vocab_size, block_size=8, depth=3, **options):
    torch.manual_seed(0)
    return build_model("conv", vocab_size, block_size, 5, 7, depth, **options)


@pytest.mark.parametrize("options", [{"residual": True}, {"dropout": 0.3}, {"residual": True, "dropout": 0.3}])
def test_options_keep_windows_and_whole_words_the_same_model(options):
    # With an option on, model(idx) runs as the convolution; in eval mode each window's
    # output must still be the whole-word pass's output at that position.
    vocab = Vocabulary.from_words(WORDS)
    conv = _conv(vocab.size, **options).eval()
    X, _ = build_windows(WORDS, vocab, 8)
    with torch.no_grad():
        torch.testing.assert_close(conv(X)[0], _every_window(conv, vocab, 8), rtol=1e-5, atol=1e-5)


def test_dropout_only_acts_in_training():
    vocab = Vocabulary.from_words(WORDS)
    plain, dropped = _conv(vocab.size), _conv(vocab.size, dropout=0.5)
    X, _ = build_windows(WORDS, vocab, 8)
    plain.eval(), dropped.eval()
    with torch.no_grad():
        torch.testing.assert_close(dropped(X)[0], plain(X)[0], rtol=1e-5, atol=1e-5)
    dropped.train()
    with torch.no_grad():
        assert not torch.equal(dropped(X)[0], dropped(X)[0])  # a fresh mask every pass


def test_residual_adds_each_levels_newest_input():
    # depth 2, block 4: level 0 fuses pairs (2 outputs in the window), level 1 fuses those
    # two; with residual its output is tanh(bn(...)) + the newer level-0 output.
    vocab = Vocabulary.from_words(WORDS)
    plain, residual = _conv(vocab.size, 4, 2), _conv(vocab.size, 4, 2, residual=True)
    plain.eval(), residual.eval()
    X, _ = build_windows(WORDS, vocab, 4)
    emb = plain.embedding.weight[X]  # (B, 4, C)
    lin0, bn0 = plain.linears[0], plain.norms[0]
    level0 = torch.tanh(
        bn0.gamma
        * (emb.reshape(len(X), 2, -1) @ lin0.weight - bn0.running_mean)
        / torch.sqrt(bn0.running_var + bn0.eps)
        + bn0.beta
    )
    lin1, bn1 = plain.linears[1], plain.norms[1]
    level1 = torch.tanh(
        bn1.gamma
        * (level0.reshape(len(X), -1) @ lin1.weight - bn1.running_mean)
        / torch.sqrt(bn1.running_var + bn1.eps)
        + bn1.beta
    )
    with torch.no_grad():
        torch.testing.assert_close(plain(X)[0], level1 @ plain.output.weight + plain.output.bias)
        torch.testing.assert_close(residual(X)[0], (level1 + level0[:, 1]) @ plain.output.weight + plain.output.bias)
