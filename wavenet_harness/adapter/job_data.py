"""A job's data: the words file its config names, the dataset cut from it, what identifies
that data for resume and evaluation, and sizes too big for memory told in one line.
Used by adapter/job.py; it knows nothing of Hydra.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from wavenet_harness.base.data import (
    DEFAULT_NAMES_PATH,
    Dataset,
    build_dataset,
    ensure_names_file,
    read_words,
    sha256_of,
)
from wavenet_harness.base.errors import ConfigError
from wavenet_harness.base.run_config import RunConfig


def words_path(config: RunConfig, base_dir: Path) -> Path:
    path = Path(config.data.path)
    return path if path.is_absolute() else base_dir / path


def load_dataset(config: RunConfig, base_dir: Path) -> Dataset:
    path = words_path(config, base_dir)
    if config.data.path == DEFAULT_NAMES_PATH:
        ensure_names_file(path)
    return build_dataset(read_words(path), config.block_size, config.data.split_seed)


def data_identity(config: RunConfig, data: Dataset, base_dir: Path) -> dict[str, Any]:
    """What defines a run's data: a checkpoint records it, resume and wavenet-eval compare it."""
    return {
        "words_sha256": sha256_of(words_path(config, base_dir)),
        "split_seed": config.data.split_seed,
        "block_size": config.block_size,
        "vocab": "".join(data.vocab.chars),
    }


def within_memory(build: Callable[[], Any], what: str) -> Any:
    """Sizes too big for memory (or for torch's integers) are the user's mistake: one line."""
    try:
        return build()
    except (MemoryError, OverflowError, RuntimeError) as err:
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if isinstance(err, RuntimeError) and not any(
            word in detail.lower()
            for word in ("memory", "overflow", "allocate", "too large", "out of range", "invalid")
        ):
            raise
        raise ConfigError(f"cannot build the {what} with these sizes ({detail[:160]}); use smaller values") from None
