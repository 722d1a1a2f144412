"""Training windows: a passage of a random piece, performed anew, encoded, transposed.

Scores are performed in a random style (`performance.random_style`; a fifth of them in
the canonical one, as the validation and test splits are rendered), played MIDI is
restyled (tempo, sometimes constant velocity); every window is then transposed by a
random -5..+6 semitones (clamped to the keyboard). A tenth of the passages begin their
piece, START first, as a live session begins; a window that runs past its passage
continues with another.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..models import codec
from ..music.note import Note
from .augment import Augment, augment, clamp_transposition, transpose_tokens
from .corpus import SCORE, Piece
from .performance import CANONICAL, perform, random_style, restyle

PASSAGE_NOTES = 192  # notes performed per draw: enough for a 256-token window
FROM_THE_START = 0.1  # the share of passages that begin a piece (START first, as a live session begins)
CANONICAL_SHARE = 0.2  # the share of score passages played in the canonical style, one performance among many


class PerformanceWindows:
    def __init__(
        self,
        pieces: Sequence[Piece],
        length: int,
        rng: np.random.Generator,
        played_share: float = 0.5,
        transpose: tuple[int, int] = (-5, 6),
    ) -> None:
        """`played_share`: the chance a window comes from played MIDI (when there is any)."""
        self.length = length
        self.rng = rng
        self.transpose = transpose
        scores = [p for p in pieces if p.kind == SCORE and len(p.rows)]
        played = [p for p in pieces if p.kind != SCORE and len(p.rows)]
        self.groups = [(g, _weights(g)) for g in (scores, played) if g]
        shares = [1.0 - played_share, played_share] if scores and played else [1.0]
        self.shares = np.asarray(shares) / sum(shares)

    def window(self) -> np.ndarray:
        """(length + 1,) int64 tokens: inputs and, shifted by one, targets."""
        n = self.length + 1
        tokens: list[int] = []
        while len(tokens) < n:
            tokens += self._passage()
        return np.asarray(tokens[:n], dtype=np.int64)

    def batch(self, size: int) -> np.ndarray:
        return np.stack([self.window() for _ in range(size)])  # (B, T + 1)

    def _passage(self) -> list[int]:
        rng = self.rng
        pieces, weights = self.groups[int(rng.choice(len(self.groups), p=self.shares))]
        piece = pieces[int(rng.choice(len(pieces), p=weights))]
        first = 0 if rng.random() < FROM_THE_START else int(rng.integers(0, len(piece.rows)))
        rows = piece.rows[first : first + PASSAGE_NOTES]
        if piece.kind == SCORE:
            notes = perform(rows, CANONICAL if rng.random() < CANONICAL_SHARE else random_style(rng), rng)
        else:
            notes = restyle([Note(s, e, int(p), int(v)) for s, e, p, v in rows.tolist()], rng)
        tokens = np.asarray(codec.encode_notes(notes, start_token=first == 0), dtype=np.int64)
        semitones = clamp_transposition(tokens, int(rng.integers(self.transpose[0], self.transpose[1] + 1)))
        return (transpose_tokens(tokens, semitones) if semitones else tokens).tolist()


class TokenWindows:
    """Random windows of `length` tokens (+1 for the shifted target) of a canonical token
    stream (a prepared split, memory-mapped), optionally transposed and stretched (the
    first models' recipe; `liveai learn`'s replay of the corpus).

    Each rank draws from its own seeded generator, which shards the batches under
    DDP like a DistributedSampler would (every rank sees different windows)."""

    def __init__(self, tokens: np.ndarray, length: int, seed: int, aug: Augment | None) -> None:
        self.tokens = tokens
        self.length = length
        self.rng = np.random.default_rng(seed)
        self.aug = aug

    def window(self) -> np.ndarray:
        n = self.length + 1
        margin = n // 8 + 16 if self.aug else 0  # slack for a faster tempo merging shifts
        start = int(self.rng.integers(0, len(self.tokens) - n - margin))
        w = np.asarray(self.tokens[start : start + n + margin], dtype=np.int64)
        if self.aug:
            a = augment(w, self.rng, self.aug)
            if len(a) >= n:
                return a[:n]
        return w[:n]

    def batch(self, size: int) -> np.ndarray:
        return np.stack([self.window() for _ in range(size)])  # (B, T + 1)


def _weights(pieces: Sequence[Piece]) -> np.ndarray:
    sizes = np.array([len(p.rows) for p in pieces], dtype=np.float64)
    return sizes / sizes.sum()
