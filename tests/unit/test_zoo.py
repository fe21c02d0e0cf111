"""model=wavenet, model=gru, model=transformer: causality, context, parameter counts, options."""

from __future__ import annotations

import re

import pytest
import torch

from helpers import compose, run_config
from wavenet_harness.adapter.config import validate
from wavenet_harness.base.data import Vocabulary, WordBatches, build_windows
from wavenet_harness.base.errors import ConfigError
from wavenet_harness.models import MODELS, build_model, build_run_model, num_params
from wavenet_harness.models.gru import gru_param_count
from wavenet_harness.models.sequence import start_aligned
from wavenet_harness.models.transformer import transformer_param_count
from wavenet_harness.models.wavenet import wavenet_dilations, wavenet_param_count

# "maximilianoxyz" is longer than every block below but 16: its later windows lose the start token
WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "x", "evelyn", "maximilianoxyz"]
VOCAB = Vocabulary.from_words(WORDS)
ZOO = [
    ("wavenet", {}),
    ("wavenet", {"norm": "layer", "dropout": 0.2}),
    ("gru", {}),
    ("gru", {"dropout": 0.2}),
    ("transformer", {"n_head": 2}),
    ("transformer", {"n_head": 2, "dropout": 0.2}),
]
SHAPES = [(4, 1), (8, 2), (16, 1), (16, 3)]  # (block_size, depth)


def _model(name, options, block_size, depth, n_embd=8, n_hidden=12):
    torch.manual_seed(0)
    return build_model(name, VOCAB.size, block_size, n_embd, n_hidden, depth, **options)


def _word_batch(block_size):
    batches = WordBatches(WORDS, VOCAB.stoi, block_size, len(WORDS))
    return batches.seqs, batches.targets, batches.lengths


@pytest.mark.parametrize("block_size,depth", SHAPES)
@pytest.mark.parametrize("name,options", ZOO)
def test_windows_and_whole_words_give_the_same_predictions(name, options, block_size, depth):
    # model(idx) on the lecture's windows (evaluation, sampling) is the model that trained
    # on whole words: each window's logits are the whole-word pass's at that position.
    model = _model(name, options, block_size, depth).eval()
    X, _ = build_windows(WORDS, VOCAB, block_size)
    seqs, targets, lengths = _word_batch(block_size)
    with torch.no_grad():
        windows = model(X)[0]
        per_position = model(seqs, targets, lengths)[0]
    assert windows.shape == (len(X), VOCAB.size)
    every = torch.cat([per_position[row, : len(word) + 1] for row, word in enumerate(WORDS)])
    torch.testing.assert_close(windows, every, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("block_size,depth", SHAPES)
@pytest.mark.parametrize("name,options", ZOO[::2])
def test_whole_word_predictions_depend_only_on_the_window_before_them(name, options, block_size, depth):
    model = _model(name, options, block_size, depth).eval()
    seqs, targets, lengths = _word_batch(block_size)
    row = WORDS.index("maximilianoxyz")
    with torch.no_grad():
        before = model(seqs, targets, lengths)[0][row]
        positions = before.shape[0]
        for t in range(block_size, seqs.shape[1]):  # change one character of the word at a time
            changed = seqs.clone()
            changed[row, t] = (changed[row, t] % (VOCAB.size - 1)) + 1
            after = model(changed, targets, lengths)[0][row]
            # output j reads seq[j : j + block_size]: j < t - block_size + 1 is earlier, j > t is too far on
            unchanged = [j for j in range(positions) if j + block_size - 1 < t or j > t]
            torch.testing.assert_close(after[unchanged], before[unchanged], rtol=0, atol=1e-6)
            reads_it = [j for j in range(positions) if j <= t <= j + block_size - 1]
            assert not torch.allclose(after[reads_it], before[reads_it])


@pytest.mark.parametrize("name,options", ZOO[::2])
def test_a_window_prediction_never_depends_on_later_characters(name, options):
    # The window path in training mode (no batch statistics couple rows): changing a
    # word's later characters changes no earlier window's logits.
    model = _model(name, options, 8, 1).train()
    X, _ = build_windows(WORDS, VOCAB, 8)
    changed_words = [w[:3] + "z" * (len(w) - 3) if len(w) > 3 else w for w in WORDS]
    Xc, _ = build_windows(changed_words, VOCAB, 8)
    earlier = torch.tensor([i for i, row in enumerate(X.tolist()) if row == Xc[i].tolist()])
    assert 0 < len(earlier) < len(X)
    with torch.no_grad():
        torch.testing.assert_close(model(Xc)[0][earlier], model(X)[0][earlier], rtol=0, atol=1e-6)


def test_start_alignment_reads_a_window_from_its_start_token():
    windows = torch.tensor([[0, 0, 0, 5, 6], [0, 0, 0, 0, 0], [1, 2, 3, 4, 5], [0, 7, 8, 9, 1]])
    tokens, last = start_aligned(windows)
    assert last.tolist() == [2, 0, 4, 4]
    assert [row[: i + 1] for row, i in zip(tokens.tolist(), last.tolist(), strict=True)] == [
        [0, 5, 6],
        [0],
        [1, 2, 3, 4, 5],
        [0, 7, 8, 9, 1],
    ]


@pytest.mark.parametrize(
    "block_size,cycles,dilations",
    [
        (16, 1, [1, 2, 4, 8]),
        (8, 1, [1, 2, 4]),
        (16, 2, [1, 2, 4, 1, 2, 4]),
        (16, 5, [1, 2] * 5),
        (12, 1, [1, 2, 4]),
        (2, 1, [1]),
        (8, 7, [1] * 7),
    ],
)
def test_wavenet_dilations_double_within_the_context(block_size, cycles, dilations):
    assert wavenet_dilations(block_size, cycles) == dilations
    assert 1 + sum(dilations) <= block_size


@pytest.mark.parametrize("norm", ["none", "layer"])
def test_wavenet_parameter_count(norm):
    # block 8, 1 cycle: 3 layers; R=6, S=10, V=16 counted by hand:
    # embedding 16*6; per layer conv (12+1)*12, skip (6+1)*10 (+ LayerNorm 12); 2 residual (6+1)*6;
    # head (10+1)*10 + (10+1)*16
    R, S, V = 6, 10, VOCAB.size
    by_hand = 16 * 6 + 3 * (13 * 12 + 7 * 10 + (12 if norm == "layer" else 0)) + 2 * 7 * 6 + 11 * 10 + 11 * 16
    model = build_model("wavenet", V, 8, R, S, 1, norm=norm)
    assert num_params(model) == wavenet_param_count(V, R, S, 3, norm) == by_hand


def test_gru_parameter_count():
    # 2 layers, E=5, H=7, V=16: embedding 16*5; layer 1: 3*7*(5+7) weights + 2*3*7 biases;
    # layer 2: 3*7*(7+7) + 2*3*7; start state 2*7; head 7*16+16
    by_hand = 16 * 5 + (3 * 7 * 12 + 42) + (3 * 7 * 14 + 42) + 14 + 8 * 16
    model = build_model("gru", VOCAB.size, 8, 5, 7, 2)
    assert num_params(model) == gru_param_count(VOCAB.size, 5, 7, 2) == by_hand


def test_transformer_parameter_count():
    # E=8, MLP 12, 2 blocks, block 6, V=16: embeddings (16+6)*8; per block 2 LayerNorms 4*8,
    # qkv 8*24+24, proj 8*8+8, MLP 8*12+12 + 12*8+8; final LayerNorm 2*8; head 8*16+16
    block = 32 + (192 + 24) + (64 + 8) + (96 + 12) + (96 + 8)
    by_hand = 22 * 8 + 2 * block + 16 + 8 * 16 + 16
    model = build_model("transformer", VOCAB.size, 6, 8, 12, 2, n_head=2)
    assert num_params(model) == transformer_param_count(VOCAB.size, 6, 8, 12, 2) == by_hand


@pytest.mark.parametrize("name,params", [("wavenet", 38_499), ("gru", 63_395), ("transformer", 204_059)])
def test_model_groups_build_their_documented_defaults(name, params):
    cfg = compose(f"model={name}")
    config = validate(cfg)
    assert num_params(build_run_model(config, 27)) == params


@pytest.mark.parametrize("name,options", ZOO[1::2])
def test_dropout_only_acts_in_training(name, options):
    plain = _model(name, {k: v for k, v in options.items() if k != "dropout"}, 8, 1).eval()
    dropped = _model(name, options, 8, 1).eval()
    X, _ = build_windows(WORDS, VOCAB, 8)
    with torch.no_grad():
        torch.testing.assert_close(dropped(X)[0], plain(X)[0])
        dropped.train()
        assert not torch.equal(dropped(X)[0], dropped(X)[0])


@pytest.mark.parametrize("name", ["wavenet", "gru", "transformer"])
def test_training_on_every_position_lowers_the_loss(name):
    model = _model(name, {"n_head": 2} if name == "transformer" else {}, 8, 1, n_embd=16, n_hidden=32)
    batches = WordBatches(WORDS, VOCAB.stoi, 8, 8)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    torch.manual_seed(0)
    losses = []
    for _ in range(60):
        _, loss = model(*batches.draw())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.5


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["model=wavenet", "model.norm=batch"], "model.norm='batch' is not allowed: choose one of none, layer"),
        (
            ["model=wavenet", "depth=8"],
            "depth=8 is not allowed: model=wavenet's dilation cycles need one kernel-2 layer",
        ),
        (["model=wavenet", "model.dropout=1.0"], "model.dropout=1.0 is not allowed"),
        (["model=gru", "model.dropout=-0.1"], "model.dropout=-0.1 is not allowed"),
        (
            ["model=gru", "+model.n_head=2"],
            "model.n_head is not a key of model=gru (it is a key of model=transformer: "
            "choose that option); model=gru takes: dropout",
        ),
        (["model=transformer", "model.n_head=5"], "model.n_head=5 is not allowed with n_embd=64"),
        (
            ["model=transformer", "model.n_head=2.5"],
            "model.n_head=2.5 is not allowed: model.n_head must be a whole number",
        ),
        (["model=wavenet", "model.norm=1"], "model.norm='1' is not allowed: choose one of none, layer"),
    ],
)
def test_option_mistakes_are_one_clear_line_before_data_loads(overrides, message):
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        validate(compose(*overrides))


@pytest.mark.parametrize("name,options", ZOO[::2])
def test_evaluation_in_chunks_gives_the_same_logits(name, options, monkeypatch):
    from wavenet_harness.models import sequence

    model = _model(name, options, 8, 1).eval()
    X, _ = build_windows(WORDS, VOCAB, 8)
    with torch.no_grad():
        whole = model(X)[0]
        monkeypatch.setattr(sequence, "EVAL_CHUNK", 7)
        torch.testing.assert_close(model(X)[0], whole, rtol=1e-6, atol=1e-6)


def test_every_model_reports_the_same_hparams_columns():
    from wavenet_harness.adapter.job import NOT_HPARAMS, OPTION_COLUMNS
    from wavenet_harness.tracking.hparams import hparam_values

    columns = {name: hparam_values(run_config(f"model={name}"), 1, NOT_HPARAMS, OPTION_COLUMNS) for name in MODELS}
    assert len({tuple(sorted(values)) for values in columns.values()}) == 1
    assert columns["transformer"]["model.n_head"].strip() == "4" and columns["hier"]["model.n_head"].strip() == "0"
    assert columns["wavenet"]["model.norm"] == "none" and columns["gru"]["model.dropout"] == 0.0
