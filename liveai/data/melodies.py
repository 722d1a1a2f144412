"""Two-bar melodies for the morph model, cut from the corpus's scores on their bar lines.

A score's rows carry music21's beat strength; a note of strength 1 stands on a
downbeat. A window starts on a downbeat with downbeats 4 and 8 quarters later, so
it is two whole bars of 4/4 wherever the score has them (four of 2/4); pieces in 3/4,
6/8 and other meters give none. The top voice is the melody (liveai.models.melody). A window with
fewer than MIN_NOTES notes is skipped. Played MIDI (POP909) carries no bar lines and is
not used. The split is the corpus's (scripts/prepare_data.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..models import melody
from .corpus import SCORE, Piece

WINDOW_QUARTERS = melody.STEPS / melody.STEPS_PER_QUARTER  # 8
MIN_NOTES = 3
EPS = 1e-6


def downbeats(rows: np.ndarray) -> list[float]:
    """Onsets (quarter notes) of the score's downbeats, in order, and the final bar
    line when the last bar is a whole one of 4/4 (so the closing bars are windows too)."""
    marks = sorted({round(float(r[0]), 6) for r in rows if r[2] >= 1.0 - EPS and r[1] > 0})
    end = round(float(np.max(rows[:, 0] + rows[:, 1])), 6)
    if marks and abs(end - marks[-1] - 4.0) < EPS:
        marks.append(end)
    return marks


def window_starts(bars: Sequence[float]) -> list[float]:
    """Downbeats with downbeats 4 and 8 quarters later: two whole bars of 4/4 or 2/2
    (four of 2/4). In 3/4, 6/8, 12/8 or 5/4 no downbeat lies 4 quarters on."""
    marks = np.asarray(bars)

    def marked(t: float) -> bool:
        return bool(np.any(np.abs(marks - t) < EPS))

    return [b for b in bars if marked(b + 4.0) and marked(b + 8.0)]


def piece_melodies(piece: Piece, hop_bars: int = 1, bars: Sequence[float] | None = None) -> list[list[int]]:
    """The two-bar melodies of one score (empty for played MIDI). `bars`: its bar lines
    when they are known (a MIDI file's time signatures, liveai.data.grid), else the
    downbeats its notes mark."""
    if piece.kind != SCORE or len(piece.rows) == 0:
        return []
    rows = piece.rows
    out = []
    last = -np.inf
    for start in window_starts(downbeats(rows) if bars is None else bars):
        if start < last + 4.0 * hop_bars - EPS:
            continue
        inside = rows[(rows[:, 0] >= start - EPS) & (rows[:, 0] < start + WINDOW_QUARTERS - EPS)]
        tokens = melody.from_quarters(inside, start)
        if melody.note_count(tokens) >= MIN_NOTES:
            out.append(tokens)
            last = start
    return out


def melodies(pieces: Iterable[Piece]) -> np.ndarray:
    """(N, 32) uint8 melodies of every score."""
    rows = [m for p in pieces for m in piece_melodies(p)]
    return np.array(rows, dtype=np.uint8).reshape(-1, melody.STEPS)
