"""Words -> vocabulary -> split -> windows, on made-up words and on the real names.txt."""

import torch

from wavenet_harness.base.data import Vocabulary, build_dataset, build_windows, read_words, split_words


def test_vocabulary_puts_end_token_first_and_sorts_characters():
    vocab = Vocabulary.from_words(["cab", "bad"])
    assert vocab.stoi == {".": 0, "a": 1, "b": 2, "c": 3, "d": 4}
    assert vocab.size == 5
    assert vocab.decode(vocab.encode("dab")) == "dab"


def test_windows_slide_over_padded_context_and_end_with_end_token():
    vocab = Vocabulary.from_words(["ab"])
    X, Y = build_windows(["ab"], vocab, block_size=3)
    assert X.tolist() == [[0, 0, 0], [0, 0, 1], [0, 1, 2]]
    assert Y.tolist() == [1, 2, 0]


def test_split_is_python_random_seed_42_shuffle_cut_80_10_10():
    words = [f"w{i}" for i in range(50)]
    train, val, test = split_words(words, seed=42)
    assert (len(train), len(val), len(test)) == (40, 5, 5)
    assert sorted(train + val + test) == sorted(words)
    assert words == [f"w{i}" for i in range(50)]  # the caller's list is left as it was
    assert split_words(words, seed=42) == (train, val, test)


def test_real_names_split_sizes_match_the_lecture(names_path):
    words = read_words(names_path)
    assert len(words) == 32033
    data = build_dataset(words, block_size=8)
    assert (len(data.train), len(data.val), len(data.test)) == (182625, 22655, 22866)
    assert data.vocab.size == 27
    assert data.train.X.dtype == torch.long and data.train.X.shape == (182625, 8)


def test_real_names_split_sizes_do_not_depend_on_block_size(names_path):
    data = build_dataset(read_words(names_path), block_size=3)
    assert (len(data.train), len(data.val), len(data.test)) == (182625, 22655, 22866)
