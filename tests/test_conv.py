"""model=conv: the hier tree as a dilated convolution, and training on every position."""

from __future__ import annotations

import pytest
import torch

from conftest import TINY_OVERRIDES, read_metrics, run_cli
from wavenet_harness.conv import WordBatches
from wavenet_harness.data import Vocabulary, build_windows
from wavenet_harness.models import build_conv, build_hier

WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "x", "evelyn"]


def _pair(vocab_size, block_size, depth, n_embd=5, n_hidden=7):
    torch.manual_seed(0)
    hier = build_hier(vocab_size, block_size, n_embd, n_hidden, depth)
    torch.manual_seed(0)
    conv = build_conv(vocab_size, block_size, n_embd, n_hidden, depth)
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
    batches = WordBatches(WORDS, vocab.stoi, block_size, len(WORDS))
    with torch.no_grad():
        per_position = conv.forward_sequence(batches.seqs, batches.lengths)
        expected = hier(X)
    # build_windows yields each word's len(word)+1 windows in order: the valid conv outputs.
    got = torch.cat([per_position[row, : len(word) + 1] for row, word in enumerate(WORDS)])
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_conv_is_the_hier_model_on_windows_with_the_same_draws_and_keys():
    vocab = Vocabulary.from_words(WORDS)
    hier, conv = _pair(vocab.size, 8, 3)
    assert list(hier.state_dict()) == list(conv.state_dict())
    for a, b in zip(hier.state_dict().values(), conv.state_dict().values()):
        assert torch.equal(a, b)
    X, _ = build_windows(WORDS, vocab, 8)
    assert torch.equal(conv(X), hier(X))  # training mode too: model(idx) is hier's forward


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
        loss = batches(conv)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.5


def test_cli_conv_trains_on_every_position_end_to_end(tmp_path, tiny_words_file):
    run_dir = tmp_path / "run"
    proc = run_cli(
        ["experiment=fast", "model=conv", "fast=false", *TINY_OVERRIDES, "schedule.warmup_steps=10",
         f"data.path={tiny_words_file}", f"hydra.run.dir={run_dir}"],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    metrics = read_metrics(run_dir)
    assert metrics["status"] == "ok" and metrics["model"] == "conv" and metrics["steps"] == 60
    assert metrics["val_loss"] < 3.3  # below log(27): it learned from the words
