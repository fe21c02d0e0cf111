"""Sampling: generate() on a small model, and the samples TensorBoard shows (the console
script is in e2e/test_sample.py)."""

from __future__ import annotations

import random

import pytest
import torch

from wavenet_harness.base.data import Vocabulary
from wavenet_harness.models import build_model
from wavenet_harness.models.sampling import generate
from wavenet_harness.tracking.tensorboard import samples_markdown

VOCAB = Vocabulary(tuple("abcdefghijklmnopqrstuvwxyz"))


@pytest.fixture
def model():
    torch.manual_seed(1)
    return build_model("hier", VOCAB.size, 8, 6, 16, 3)


def test_generate_words_from_the_vocabulary_within_max_len(model):
    words = generate(model, VOCAB, 20, generator=torch.Generator().manual_seed(3), max_len=12)
    assert len(words) == 20
    assert all(1 <= len(w) <= 12 or w == "" for w in words)
    assert all(set(w) <= set(VOCAB.chars) for w in words)
    assert model.training  # the mode it was in is restored


def test_generate_is_reproducible_and_leaves_global_rng_alone(model):
    torch_state, python_state = torch.get_rng_state(), random.getstate()
    first = generate(model, VOCAB, 8, generator=torch.Generator().manual_seed(5))
    again = generate(model, VOCAB, 3, generator=torch.Generator().manual_seed(5))
    assert again == first[:3]  # one word at a time: the first k words do not depend on n
    assert torch.equal(torch.get_rng_state(), torch_state) and random.getstate() == python_state


def test_generate_prefix_top_k_and_temperature(model):
    words = generate(model, VOCAB, 5, prefix="ka", generator=torch.Generator().manual_seed(0), max_len=10)
    assert all(w.startswith("ka") for w in words)
    greedy = generate(model, VOCAB, 4, top_k=1, generator=torch.Generator().manual_seed(0), max_len=10)
    assert len(set(greedy)) == 1  # only the likeliest character: every draw is the same word
    assert generate(model, VOCAB, 2, prefix="abc", max_len=3) == ["abc", "abc"]
    with pytest.raises(ValueError, match="temperature"):
        generate(model, VOCAB, 1, temperature=0.0)
    with pytest.raises(ValueError, match="prefix"):
        generate(model, VOCAB, 1, prefix="A")


def test_samples_markdown_marks_new_words():
    assert samples_markdown(["emma", "zed"], {"emma"}) == "- emma\n- zed *(new)*"
