"""A player's MIDI file read on its own beat grid, for the morph VAE's two-bar melodies.

A DAW's or a notation program's export keeps the music's beats: ticks per beat and a
tempo map put every note on the grid, and time signature events (4/4 when there are
none, as the MIDI standard says) place the bar lines. Here the file becomes a score's
rows (onset, length, beat strength, pitch, in quarter notes; strength 1 on a bar line),
so the corpus's own cutting (`melodies.piece_melodies`) takes its two-bar windows, on
every bar line up to the one that closes its last note. A
bar of 4/2 or 2/1 (8 quarters, as in Renaissance music) is marked every 4 quarters:
two bars of 4/4 in the VAE's 16ths.

A free-time recording (no click: the notes land anywhere between the file's beats) has
no usable grid: fewer than ON_GRID_SHARE of its onsets lie within ON_GRID_Q of a 16th
or an eighth-note triplet (onsets at random land there half the time), and it is
skipped. Onsets near the grid are put on it, as a DAW's quantize does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi

from ..errors import MidiFileError
from .corpus import SCORE, Piece
from .melodies import piece_melodies
from .midi import _BROKEN

ON_GRID_Q = 1 / 24  # quarters (21 ms at 120 BPM)
ON_GRID_SHARE = 0.75
GRID_POINTS = np.array([0.0, 1 / 4, 1 / 3, 1 / 2, 2 / 3, 3 / 4, 1.0])  # within a quarter: 16ths and triplets
HALVED_BAR_Q = 4.0  # a bar of 8 quarters is marked as two of these
DOWNBEAT, BEAT, OFFBEAT = 1.0, 0.5, 0.25

NO_GRID = "no beat grid (played in free time?)"
NO_BARS = "no two bars of 4/4 with a melody"


def snap(onsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(onsets on the nearest 16th or triplet when within ON_GRID_Q, which were)."""
    whole = np.floor(onsets)
    frac = onsets - whole
    nearest = GRID_POINTS[np.abs(frac[:, None] - GRID_POINTS[None, :]).argmin(axis=1)]
    near = np.abs(frac - nearest) <= ON_GRID_Q + 1e-9
    return np.where(near, whole + nearest, onsets), near


def bar_lines(signatures: list[tuple[float, int, int]], end_q: float) -> np.ndarray:
    """Bar lines (quarters) up to `end_q` from (quarter, numerator, denominator) time
    signatures; 4/4 from 0 until the first; a bar of 8 quarters marked every 4."""
    marks: list[float] = []
    spans = sorted(signatures)
    if not spans or spans[0][0] > 0:
        spans.insert(0, (0.0, 4, 4))
    for i, (at, num, den) in enumerate(spans):
        until = spans[i + 1][0] if i + 1 < len(spans) else end_q
        bar = num * 4.0 / den
        if bar > HALVED_BAR_Q and bar % HALVED_BAR_Q == 0:
            bar = HALVED_BAR_Q
        if bar <= 0:
            continue
        marks += list(np.arange(at, until, bar))
    return np.array(sorted(set(round(m, 6) for m in marks)), dtype=np.float64)


def grid_rows(pm: pretty_midi.PrettyMIDI) -> tuple[np.ndarray, np.ndarray, float]:
    """(rows (n, 4) of onset, length, beat strength, pitch in quarters, sorted by onset;
    the bar lines up to the one closing the last note; the share of onsets that were on
    the grid) of every non-drum note."""
    tpq = float(pm.resolution)
    notes = [
        (pm.time_to_tick(n.start) / tpq, pm.time_to_tick(n.end) / tpq, n.pitch)
        for inst in pm.instruments
        if not inst.is_drum
        for n in inst.notes
    ]
    if not notes:
        return np.zeros((0, 4)), np.zeros(0), 0.0
    raw = np.array(notes, dtype=np.float64)
    onsets, near = snap(raw[:, 0])
    ends = np.maximum(raw[:, 1], onsets)
    signatures = [
        (pm.time_to_tick(ts.time) / tpq, int(ts.numerator), int(ts.denominator))
        for ts in pm.time_signature_changes
    ]
    bars = bar_lines(signatures, float(ends.max()) + 2 * HALVED_BAR_Q)
    on_bar = (
        np.abs(onsets[:, None] - bars[None, :]).min(axis=1) < 1e-6
        if len(bars)
        else np.zeros(len(onsets), bool)
    )
    on_beat = np.abs(onsets - np.round(onsets)) < 1e-6
    strength = np.where(on_bar, DOWNBEAT, np.where(on_beat, BEAT, OFFBEAT))
    rows = np.stack([onsets, ends - onsets, strength, raw[:, 2]], axis=1)
    closing = bars[bars >= ends.max() - 1e-6]
    bars = bars[bars <= closing[0]] if len(closing) else bars
    return rows[np.lexsort((rows[:, 3], rows[:, 0]))], bars, float(near.mean())


def grid_melodies(path: str | Path, rel_id: str) -> tuple[list[list[int]], str | None]:
    """(the file's two-bar melodies, None), or ([], why there are none); MidiFileError
    when it cannot be read as MIDI."""
    try:
        pm = pretty_midi.PrettyMIDI(str(path))
        rows, bars, share = grid_rows(pm)
    except _BROKEN as exc:
        raise MidiFileError(
            f"cannot read MIDI file {Path(path).name}: {str(exc) or type(exc).__name__}"
        ) from exc
    if len(rows) and share < ON_GRID_SHARE:
        return [], NO_GRID
    found = piece_melodies(Piece(rel_id, SCORE, rows), bars=bars.tolist()) if len(rows) else []
    return found, None if found else NO_BARS
