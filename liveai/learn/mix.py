"""The batches of a learn: windows of the player's music, performed anew as the shipped
models' training does, with a share replayed from the base corpus when one is given."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..data.augment import Augment
from ..data.corpus import Piece
from ..data.shards import load_split
from ..data.windows import PerformanceWindows, TokenWindows


class Mix:
    """`batch()`: (size, length + 1) tokens, the first `size - replayed` rows the player's,
    the last `replayed` the corpus's (canonical tokens, transposed and stretched)."""

    def __init__(
        self,
        pieces: Sequence[Piece],
        length: int,
        size: int,
        seed: int,
        replay: Path | None = None,
        replay_share: float = 0.0,
    ) -> None:
        self.played = PerformanceWindows(pieces, length, np.random.default_rng(seed), played_share=1.0)
        self.replay: TokenWindows | None = None
        self.replayed = 0
        if replay is not None and replay_share > 0:
            tokens = load_split(replay, "train", mmap=True).tokens  # memory-mapped: not read into memory
            self.replay = TokenWindows(tokens, length, seed + 1, Augment())
            self.replayed = min(size - 1, max(1, round(size * replay_share)))
        self.size = size

    def batch(self) -> np.ndarray:
        rows = self.played.batch(self.size - self.replayed)
        if self.replay is not None:
            rows = np.concatenate([rows, self.replay.batch(self.replayed)])
        return rows
