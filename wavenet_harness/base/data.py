"""Words file -> vocabulary -> seeded 80/10/10 split -> context windows -> batches (windows or whole words).

Everything here follows makemore part 5 exactly: the vocabulary is the sorted set of
characters with '.' as token 0, the words are shuffled with Python's random.seed(42)
and split 80/10/10 by words, and every word yields one (context, next char) example
per character plus one for the end token. `ensure_names_file` downloads names.txt on
first use.

It knows nothing of models, training or configs; its only import from the package is
DataError (errors.py) and the atomic file writer (files.py).
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import unicodedata
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch

from wavenet_harness.base.errors import DataError
from wavenet_harness.base.files import write_atomic

NAMES_URL = "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt"
NAMES_SHA256 = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"
DEFAULT_NAMES_PATH = "data/names.txt"
END_TOKEN = "."
# A word longer than this is almost certainly not "one item per line" data (a paragraph,
# a minified file, a binary): refuse rather than build a giant, useless vocabulary.
MAX_WORD_LENGTH = 200


@dataclass(frozen=True)
class Vocabulary:
    """Character <-> integer mapping; '.' (index 0) marks both start padding and end."""

    chars: tuple[str, ...]

    @classmethod
    def from_words(cls, words: list[str]) -> Vocabulary:
        return cls(tuple(sorted(set("".join(words)))))

    @property
    def size(self) -> int:
        return len(self.chars) + 1

    @property
    def stoi(self) -> dict[str, int]:
        table = {ch: i + 1 for i, ch in enumerate(self.chars)}
        table[END_TOKEN] = 0
        return table

    @property
    def itos(self) -> dict[int, str]:
        return {i: ch for ch, i in self.stoi.items()}

    def encode(self, word: str) -> list[int]:
        stoi = self.stoi
        return [stoi[ch] for ch in word]

    def decode(self, ids) -> str:
        itos = self.itos
        return "".join(itos[int(i)] for i in ids)


@dataclass
class Split:
    """One split's words and their (context, target) windows."""

    words: list[str]
    X: torch.Tensor  # (N, block_size) int64 contexts
    Y: torch.Tensor  # (N,) int64 next characters

    def __len__(self) -> int:
        return self.X.shape[0]


@dataclass
class Dataset:
    vocab: Vocabulary
    block_size: int
    train: Split
    val: Split
    test: Split

    def split(self, name: str) -> Split:
        return {"train": self.train, "val": self.val, "test": self.test}[name]


def read_words(path: str | os.PathLike) -> list[str]:
    """Read one word per line.

    Handling, documented in the README: Windows line endings, a UTF-8 byte-order mark
    and surrounding whitespace are stripped, blank lines are skipped. Everything else
    that would silently corrupt the vocabulary (the end token inside a word, absurdly
    long lines, non-UTF-8 bytes, no words at all) is an error that names the file and
    the line.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"data.path: file not found: {path}")
    if path.is_dir():
        raise DataError(f"data.path: {path} is a directory; expected a text file with one word per line")
    if not path.is_file():  # a FIFO, a socket, a device: reading it may never end
        raise DataError(f"data.path: {path} is not a regular file; expected a text file with one word per line")
    try:
        # utf-8-sig drops the byte-order mark some Windows editors put first, which would
        # otherwise become a character of the first word.
        text = path.read_bytes().decode("utf-8-sig")
    except PermissionError:
        raise DataError(f"data.path: cannot read {path}: permission denied") from None
    except UnicodeDecodeError as err:
        raise DataError(f"data.path: {path} is not UTF-8 text (bad byte at offset {err.start})") from None
    except OSError as err:
        raise DataError(f"data.path: cannot read {path}: {err.strerror}") from None
    words = []
    # Lines end at "\n", "\r\n" or "\r" only: str.splitlines would also cut a word at a form
    # feed or U+2028, silently making two words of one.
    for lineno, line in enumerate(re.split(r"\r\n|\n|\r", text), start=1):
        word = line.strip()
        if not word:
            continue
        control = next((ch for ch in word if unicodedata.category(ch) in ("Cc", "Zl", "Zp")), None)
        if control is not None:
            raise DataError(
                f"data.path: {path} line {lineno}: {word[:40]!r} contains the control character "
                f"U+{ord(control):04X}; remove it (one word per line, lines end at newlines)"
            )
        if END_TOKEN in word:
            raise DataError(
                f"data.path: {path} line {lineno}: {word[:40]!r} contains {END_TOKEN!r}, "
                "which is the end-of-word token; remove or replace it"
            )
        if len(word) > MAX_WORD_LENGTH:
            raise DataError(
                f"data.path: {path} line {lineno} is {len(word)} characters long "
                f"(at most {MAX_WORD_LENGTH}); expected one short word per line"
            )
        words.append(word)
    if not words:
        raise DataError(f"data.path: {path} holds no words (expected one word per line)")
    return words


def split_words(words: list[str], seed: int = 42) -> tuple[list[str], list[str], list[str]]:
    """Shuffle a copy with Python's random (as the lecture) and cut 80/10/10 by words."""
    shuffled = list(words)
    random.seed(seed)
    random.shuffle(shuffled)
    n1 = int(0.8 * len(shuffled))
    n2 = int(0.9 * len(shuffled))
    return shuffled[:n1], shuffled[n1:n2], shuffled[n2:]


def build_windows(words: list[str], vocab: Vocabulary, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The lecture's build_dataset: a sliding context of block_size ids, '.'-padded."""
    stoi = vocab.stoi
    X, Y = [], []
    for word in words:
        context = [0] * block_size
        for ch in word + END_TOKEN:
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return (
        torch.tensor(X, dtype=torch.long).view(-1, block_size),
        torch.tensor(Y, dtype=torch.long),
    )


class WindowBatches:
    """The lecture's batches: `batch_size` random (context, next char) windows per step.

    Exactly one torch.randint per draw, from the global generator, as the notebook's
    `ix = torch.randint(0, Xtr.shape[0], (batch_size,))`, so the lecture's numbers stay
    bit for bit. `draw()` returns (contexts, targets), the arguments of `model(idx, targets)`.
    """

    def __init__(self, X: torch.Tensor, Y: torch.Tensor, batch_size: int):
        self.X, self.Y, self.batch_size = X, Y, batch_size

    def draw(self) -> tuple[torch.Tensor, torch.Tensor]:
        ix = torch.randint(0, self.X.shape[0], (self.batch_size,), device=self.X.device)
        return self.X[ix], self.Y[ix]


class WordBatches:
    """Batch source for the models that read whole words: random words as padded sequences, every position a target.

    `draw()`, once per training step, takes `batch_size` words with one torch.randint (the
    global generator, like the lecture's window batches) and returns (seq, targets,
    lengths), the arguments of `model(...)`: len(word) + 1 predictions per word, -1 where
    a row has none.
    """

    def __init__(
        self,
        words: list[str],
        stoi: dict[str, int],
        block_size: int,
        batch_size: int,
        device: torch.device | str = "cpu",
    ):
        longest = max(len(w) for w in words)
        n = len(words)
        seqs = torch.zeros((n, block_size + longest), dtype=torch.long)
        targets = torch.full((n, longest + 1), -1, dtype=torch.long)  # -1: no prediction here
        for row, word in enumerate(words):
            ids = [stoi[ch] for ch in word]
            seqs[row, block_size : block_size + len(ids)] = torch.tensor(ids, dtype=torch.long)
            targets[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            targets[row, len(ids)] = 0  # the end token
        self.seqs = seqs.to(device)
        self.targets = targets.to(device)
        self.lengths = torch.tensor([block_size + len(w) for w in words], dtype=torch.long, device=device)
        self.block_size = block_size
        self.batch_size = batch_size
        # Trimming each batch to its longest word needs the length on the host; on a GPU
        # that would be a sync per step, so there batches keep the full width.
        self.trim = self.seqs.device.type == "cpu"

    def draw(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        ix = torch.randint(0, self.seqs.shape[0], (self.batch_size,), device=self.seqs.device)
        lengths = self.lengths[ix]
        seq, targets = self.seqs[ix], self.targets[ix]
        if self.trim:
            width = int(lengths.max())
            seq, targets = seq[:, :width], targets[:, : width - self.block_size + 1]
        return seq, targets, lengths


def check_splits(words: list[str], parts: tuple[list[str], ...]) -> None:
    """Refuse a words file too small for every split to hold a word (val loss of nothing is NaN)."""
    for name, part in zip(("train", "val", "test"), parts, strict=True):
        if not part:
            raise DataError(
                f"data.path: {len(words)} word{'s' if len(words) != 1 else ''} leave the {name} split empty "
                "(80/10/10 by words); give at least 6 words"
            )


def build_dataset(words: list[str], block_size: int, split_seed: int = 42) -> Dataset:
    vocab = Vocabulary.from_words(words)
    parts = split_words(words, split_seed)
    check_splits(words, parts)
    splits = [Split(part, *build_windows(part, vocab, block_size)) for part in parts]
    return Dataset(vocab, block_size, *splits)


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def ensure_names_file(path: str | os.PathLike, url: str = NAMES_URL, timeout: float = 30.0) -> Path:
    """Download names.txt to `path` if it is absent: checksum-verified, written atomically."""
    path = Path(path)
    if path.exists():
        return path
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            payload = response.read()
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise DataError(
            f"data.path: {path} is missing and downloading {url} failed ({reason}); "
            f"put names.txt at {path.resolve()} or pass data.path=/path/to/words.txt"
        ) from None
    digest = hashlib.sha256(payload).hexdigest()
    if digest != NAMES_SHA256:
        raise DataError(f"downloaded {url} has sha256 {digest}, expected {NAMES_SHA256}; not saved")
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, lambda f: f.write(payload), binary=True, suffix=".part")
