"""Performances of a score drawn at training time, and the windows the models learn from:
each style does what it says, and the codec keeps what overlapping playing means."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from liveai.data.corpus import PERFORMANCE, SCORE, Piece, perform_score
from liveai.data.performance import CANONICAL, VARIATIONS, perform, random_style, restyle
from liveai.data.windows import PerformanceWindows
from liveai.models import codec
from liveai.music.note import Note

# A melody of eighths and quarters over half-note chords, 8 bars of 4/4: (onset, length, strength, pitch)
MELODY = [(i * 0.5, 0.5, 1.0 if i % 2 == 0 else 0.25, 60 + (i * 2) % 12) for i in range(64)]
CHORDS = [(b * 2.0, 2.0, 1.0, p) for b in range(16) for p in (48, 52, 55)]
ROWS = np.array(sorted(MELODY + CHORDS, key=lambda r: (r[0], r[3])), dtype=np.float64)


def melody(notes: list[Note]) -> list[Note]:
    return sorted((n for n in notes if n.pitch >= 60), key=lambda n: n.start)


def test_the_canonical_style_plays_as_the_canonical_rendering():
    a = perform(ROWS, CANONICAL, np.random.default_rng(0))
    b = perform_score([tuple(r) for r in ROWS.tolist()], "x#0")
    assert [(round(n.start, 6), round(n.end, 6), n.pitch) for n in a] == [
        (round(n.start, 6), round(n.end, 6), n.pitch) for n in b
    ]
    assert abs(np.mean([n.velocity for n in a]) - np.mean([n.velocity for n in b])) < 20


@pytest.mark.parametrize("bpm", [60.0, 90.0, 140.0, 180.0])
def test_tempo(bpm):
    notes = perform(ROWS, replace(CANONICAL, bpm=bpm), np.random.default_rng(0))
    assert max(n.start for n in notes) == pytest.approx(31.5 * 60.0 / bpm)  # the last eighth of bar 8


def test_articulations():
    rng = np.random.default_rng(0)
    q = 60.0 / CANONICAL.bpm
    legato = melody(perform(ROWS, VARIATIONS["legato"], rng))
    assert all(a.end == pytest.approx(b.start) for a, b in zip(legato, legato[1:]))
    overlapping = melody(perform(ROWS, VARIATIONS["overlapping legato"], rng))
    assert all(a.end - b.start == pytest.approx(0.05) for a, b in zip(overlapping, overlapping[1:]))
    staccato = melody(perform(ROWS, VARIATIONS["staccato"], rng))
    assert all(n.end - n.start == pytest.approx(0.4 * 0.5 * q) for n in staccato)


def test_constant_velocity_and_accents():
    rng = np.random.default_rng(0)
    assert {n.velocity for n in perform(ROWS, VARIATIONS["constant velocity"], rng)} == {100}
    accented = perform(ROWS, replace(CANONICAL, velocity="accents", level=70), rng)
    on_beat = [n.velocity for n in melody(accented)[0::2]]
    off_beat = [n.velocity for n in melody(accented)[1::2]]
    assert min(on_beat) > max(off_beat)


def test_swing_delays_the_off_beats():
    q = 60.0 / CANONICAL.bpm
    swung = melody(perform(ROWS, replace(CANONICAL, swing=1 / 6), np.random.default_rng(0)))
    assert swung[1].start == pytest.approx((0.5 + 1 / 6) * q) and swung[2].start == pytest.approx(q)


def test_a_chord_is_spread_from_the_bass_up_or_down():
    notes = perform(ROWS, replace(CANONICAL, chord_spread_s=0.02), np.random.default_rng(0))
    # the first chord and melody note
    first = sorted((n for n in notes if n.start < 0.05), key=lambda n: n.start)
    assert len(first) == 4 and first[-1].start - first[0].start == pytest.approx(0.02)


def test_random_styles_stay_in_their_ranges():
    rng = np.random.default_rng(1)
    for _ in range(300):
        style = random_style(rng)
        assert 60 <= style.bpm <= 180 and 0.4 <= style.articulation <= 1.0
        assert style.overlap_s == 0.0 or 0.01 <= style.overlap_s <= 0.08
        notes = perform(ROWS[:40], style, rng)
        assert notes and all(n.end > n.start >= 0 and 1 <= n.velocity <= 127 for n in notes)


def test_restyle_stretches_and_sometimes_flattens_velocity():
    played = [Note(1.0 + i * 0.3, 1.0 + i * 0.3 + 0.35, 60 + i % 5, 40 + i) for i in range(20)]
    rng = np.random.default_rng(3)
    seen_constant = False
    for _ in range(40):
        again = restyle(played, rng)
        span = again[-1].start / (played[-1].start - played[0].start)
        assert again[0].start == 0.0 and 0.8 - 1e-9 <= span <= 1.25 + 1e-9
        seen_constant |= len({n.velocity for n in again}) == 1
    assert seen_constant


def test_the_codec_keeps_overlapping_and_simultaneous_events_in_order():
    # legato: a note-off and the next note-on at one instant -> the off comes first
    tokens = codec.encode_notes([Note(0.0, 0.5, 60, 80), Note(0.5, 1.0, 62, 80)])
    assert tokens.index(codec.note_off(60)) < tokens.index(codec.note_on(62))
    # overlapping legato: the next note begins before the last ends
    tokens = codec.encode_notes([Note(0.0, 0.55, 60, 80), Note(0.5, 1.0, 62, 80)])
    assert tokens.index(codec.note_on(62)) < tokens.index(codec.note_off(60))
    decoded = codec.decode_tokens(tokens)
    assert [(n.pitch, n.start, n.end) for n in decoded] == [(60, 0.0, 0.55), (62, 0.5, 1.0)]
    # the same pitch struck again before it ended: the first is cut where the second begins
    decoded = codec.decode_tokens(codec.encode_notes([Note(0.0, 0.6, 60, 80), Note(0.5, 1.0, 60, 80)]))
    assert [(n.start, n.end) for n in decoded] == [(0.0, 0.5), (0.5, 1.0)]


def test_windows_are_performances_of_the_pieces():
    pieces = [
        Piece("score#0", SCORE, ROWS),
        Piece(
            "played#0",
            PERFORMANCE,
            np.array([(i * 0.25, i * 0.25 + 0.3, 64 + i % 7, 90) for i in range(300)], np.float64),
        ),
    ]
    windows = PerformanceWindows(pieces, 256, np.random.default_rng(0))
    batch = windows.batch(64)
    assert batch.shape == (64, 257) and batch.dtype == np.int64
    assert batch.min() >= 0 and batch.max() <= codec.START  # never PAD
    assert (batch == codec.START).any()  # windows from the start of a piece begin with START
    # transposed within -5..+6 of the written pitches
    pitches = {codec.token_pitch(t) for t in batch.ravel().tolist() if codec.is_note_on(t)}
    assert min(pitches) >= 48 - 5 and max(pitches) <= 70 + 6
    again = PerformanceWindows(pieces, 256, np.random.default_rng(0)).batch(64)
    assert np.array_equal(batch, again)  # seeded: a resume draws what it would have drawn
