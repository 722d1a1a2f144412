"""The shipped synth, as liveai plays it: its own output has no click where a note ends
or is stolen, and a held note dies away, the higher the sooner, as the card says. Its
held chords carry their notes' harmonics and next to nothing between them; it is
silent before the first note, and has no DC: the card's 1e-4 over any second,
which the network alone misses and its DC blocker meets.

A click is splatter: energy above the notes' partials (the excitation's 16 harmonics
reach 7 kHz for the A4 here) in the moments after the event. A stolen voice cut dead puts
99 times the energy above 10 kHz that the same note struck on a free voice does, a
one-sample release 188 times what the held notes have; the envelopes' ramps
(tests/unit/audio/test_voices.py) add next to none (at most 1.1 times).
"""

from __future__ import annotations

import numpy as np
import pytest

from liveai.audio.features import LIVEAI
from liveai.audio.harmonics import chord_figures, chord_notes, chord_set, peak_dbfs, worst_dc
from liveai.audio.renderer import SynthRenderer, render_notes
from liveai.music.note import Note
from liveai.runtime.loading import load_synth

SR = 48_000


@pytest.fixture(scope="module")
def net():
    synth, _ = load_synth("synth")
    return synth


def rendered(net, events: list[tuple[int, int, int]], length: int, polyphony: int = 16) -> np.ndarray:
    """The synth's output for (sample, pitch, velocity) events, as the live engine
    renders it: blocks of 256 samples, events at their samples."""
    renderer = SynthRenderer(net, polyphony=polyphony)
    out, pending = [], sorted(events)
    for start in range(0, length, 256):
        inside = [(s - start, p, v, LIVEAI) for s, p, v in pending if start <= s < start + 256]
        out.append(renderer.render(256, inside))
    return np.concatenate(out)[:length]


CUTOFF_HZ = 10_000  # above every partial of these notes (A4's 16th harmonic: 7 kHz)
WINDOW = 480  # 10 ms


def splatter(audio: np.ndarray, at: int) -> float:
    """The most energy above CUTOFF_HZ in any 10 ms window (Hann, 2.5 ms apart) from 10 ms
    before `at` to 30 ms after it."""
    freqs = np.fft.rfftfreq(WINDOW, 1 / SR)
    window = np.hanning(WINDOW)
    return max(
        float((np.abs(np.fft.rfft(audio[s : s + WINDOW] * window)) ** 2)[freqs > CUTOFF_HZ].sum())
        for s in range(at - WINDOW, at + 3 * WINDOW, WINDOW // 4)
    )


def test_no_click_where_a_note_ends_or_is_stolen(net) -> None:
    """A note-off splatters no more than the held notes do with nothing happening; a
    third note stealing the older of two voices no more than the same note struck on a
    free voice (its own onset). Three times either is the bound: a cut is a hundred."""
    held = [(0, 57, 100), (2400, 64, 100)]
    at = SR // 2
    nothing = splatter(rendered(net, held, SR), at)
    ended = splatter(rendered(net, held + [(at, 57, 0)], SR), at)  # the A3 released
    free = splatter(rendered(net, held + [(at, 69, 100)], SR), at)  # three voices: nothing stolen
    stolen = splatter(rendered(net, held + [(at, 69, 100)], SR, polyphony=2), at)  # the A3 fades into a ghost
    assert ended <= 3 * nothing, (ended, nothing)
    assert stolen <= 3 * free, (stolen, free)


def test_a_held_note_dies_away_the_higher_the_sooner(net) -> None:
    def fall_db(pitch: int) -> float:  # level 1.5 s after the onset against 0.1 s, dB
        audio = rendered(net, [(0, pitch, 100)], 2 * SR)
        early, late = audio[SR // 10 : SR // 10 + 2400], audio[3 * SR // 2 : 3 * SR // 2 + 2400]
        return float(10 * np.log10(np.mean(late**2) / np.mean(early**2)))

    falls = [fall_db(p) for p in (48, 60, 72, 84)]
    # a low note holds
    assert falls[0] > falls[1] > falls[2] > falls[3] and falls[3] < -15 and falls[0] > -6, falls


# From the card's chord set: a low triad, a seventh, a cluster, a high triad.
CHORDS = [(36, 40, 43), (60, 64, 67, 70), (48, 49, 50), (84, 87, 91)]


def test_held_chords_carry_only_their_harmonics(net) -> None:
    """Each chord's energy off its notes' harmonics is at least 40 dB under the
    harmonics (FluidSynth's: -50 to -80; the first synths' -14 to -40, an overdriven
    amp's grit)."""
    audio = render_notes(SynthRenderer(net), chord_notes(CHORDS))
    figures = chord_figures(audio, CHORDS, SR)
    assert max(figures) <= -40.0, figures


def test_silence_before_the_first_note(net) -> None:
    """A render whose first note is 1.5 s in is silent until it (the first synths began
    with a click of -23.6 dBFS)."""
    audio = render_notes(SynthRenderer(net), [Note(1.5, 4.0, 36, 110), Note(1.5, 4.0, 43, 100)])
    assert peak_dbfs(audio[: round(1.5 * SR)]) <= -80.0


# Test piece 22 of the corpus's 40 (data/synth/corpus_audio/test.npz, as models/synth_eval.json):
# the one whose DC was the largest; (start s, end s, pitch, velocity).
PIECE = [
    Note(*n)
    for n in [
        (0.000, 0.270, 43, 61),
        (0.000, 0.270, 58, 61),
        (0.000, 0.270, 67, 61),
        (0.000, 0.540, 74, 61),
        (0.300, 0.570, 45, 63),
        (0.300, 0.570, 60, 63),
        (0.300, 0.570, 66, 63),
        (0.600, 0.870, 46, 71),
        (0.600, 0.870, 62, 71),
        (0.600, 1.140, 67, 71),
        (0.600, 1.140, 74, 71),
        (0.900, 1.170, 48, 64),
        (0.900, 1.035, 60, 64),
        (1.050, 1.185, 58, 62),
        (1.200, 1.470, 50, 60),
        (1.200, 2.010, 57, 60),
        (1.200, 1.470, 66, 60),
        (1.200, 1.740, 74, 60),
        (1.500, 1.770, 52, 58),
        (1.500, 1.770, 67, 58),
        (1.800, 2.070, 54, 62),
        (1.800, 2.070, 69, 62),
        (1.800, 2.340, 74, 62),
        (2.100, 2.370, 55, 62),
        (2.100, 2.370, 58, 62),
        (2.100, 2.640, 67, 62),
        (2.400, 2.670, 57, 55),
        (2.400, 2.670, 60, 55),
        (2.400, 2.940, 72, 55),
        (2.700, 2.970, 50, 61),
        (2.700, 2.970, 62, 61),
        (2.700, 2.970, 66, 61),
        (3.000, 3.270, 55, 73),
        (3.000, 3.540, 62, 73),
        (3.000, 3.270, 67, 73),
        (3.000, 4.080, 70, 73),
        (3.300, 3.570, 57, 56),
        (3.300, 3.570, 66, 56),
        (3.600, 3.870, 58, 62),
        (3.600, 4.140, 62, 62),
        (3.600, 4.140, 67, 62),
        (3.900, 4.170, 60, 60),
        (4.200, 4.740, 62, 69),
        (4.200, 4.740, 62, 69),
        (4.200, 4.740, 66, 69),
        (4.200, 4.740, 69, 69),
        (4.800, 5.070, 58, 61),
        (4.800, 5.070, 62, 61),
        (4.800, 5.340, 65, 61),
        (4.800, 5.340, 74, 61),
        (5.100, 5.370, 57, 58),
        (5.100, 5.370, 60, 58),
        (5.400, 5.670, 55, 71),
        (5.400, 5.940, 58, 71),
        (5.400, 5.940, 67, 71),
        (5.400, 5.670, 74, 71),
        (5.700, 5.970, 53, 57),
        (5.700, 5.970, 75, 57),
        (6.000, 6.270, 51, 62),
        (6.000, 6.810, 58, 62),
        (6.000, 6.540, 65, 62),
        (6.000, 6.540, 77, 62),
        (6.300, 6.570, 50, 57),
        (6.600, 6.870, 48, 66),
        (6.600, 7.410, 72, 66),
        (6.600, 7.140, 75, 66),
        (6.900, 7.170, 53, 61),
        (6.900, 7.035, 57, 61),
        (7.050, 7.185, 55, 58),
        (7.200, 7.470, 46, 56),
        (7.200, 7.470, 53, 56),
        (7.200, 7.740, 74, 56),
        (7.500, 7.770, 50, 63),
        (7.500, 7.770, 65, 63),
        (7.500, 7.770, 70, 63),
        (7.800, 8.070, 51, 75),
        (7.800, 8.340, 67, 75),
        (7.800, 8.340, 70, 75),
        (7.800, 8.880, 72, 75),
        (8.100, 8.370, 48, 64),
        (8.400, 8.940, 53, 61),
        (8.400, 8.940, 65, 61),
        (8.400, 8.940, 69, 61),
        (9.000, 9.540, 46, 58),
        (9.000, 9.540, 65, 58),
        (9.000, 9.540, 70, 58),
        (9.000, 9.540, 74, 58),
        (9.600, 9.870, 43, 62),
        (9.600, 9.870, 58, 62),
        (9.600, 9.870, 67, 62),
        (9.600, 10.140, 74, 62),
        (9.900, 10.170, 45, 58),
        (9.900, 10.170, 60, 58),
        (9.900, 10.170, 66, 58),
        (10.200, 10.470, 46, 67),
        (10.200, 10.470, 62, 67),
        (10.200, 10.740, 67, 67),
        (10.200, 10.740, 74, 67),
        (10.500, 10.770, 48, 62),
        (10.500, 10.635, 60, 62),
        (10.650, 10.785, 58, 60),
        (10.800, 11.070, 50, 63),
        (10.800, 11.610, 57, 63),
        (10.800, 11.070, 66, 63),
        (10.800, 11.340, 74, 63),
        (11.100, 11.370, 52, 64),
        (11.100, 11.370, 67, 64),
        (11.400, 11.670, 54, 68),
        (11.400, 11.670, 69, 68),
        (11.400, 11.940, 74, 68),
        (11.700, 11.970, 55, 61),
        (11.700, 11.970, 58, 61),
        (11.700, 12.000, 67, 61),
    ]
]
DC_TARGET = 1e-4  # the card's: |Hann-weighted mean| over any second


def test_no_dc_on_the_low_chords_nor_a_test_piece(net) -> None:
    """Low notes shift no DC: the mean over any second (Hann-weighted) stays within the
    card's 1e-4 on the chord set's chords on C2 and C3 (where the DC is; FluidSynth 1.4e-4
    there by the same measure), on a low chord with an E1 after it, and on a test piece.
    The network alone gives 2.2e-4 on the chords (a low note's onset and its knock have
    content below 2 Hz), the first synths 3.7e-4 even through the DC blocker; the
    blocker brings the shipped synth's to 2e-5."""
    chords = [pitches for _, pitches in chord_set()]
    low = [c for c in chords if c[0] < 60]
    lows = [Note(1.5, 4.0, 36, 110), Note(1.5, 4.0, 43, 100), Note(4.5, 6.0, 28, 120)]
    figures = {
        name: worst_dc(render_notes(SynthRenderer(net), notes), SR)
        for name, notes in (("chords", chord_notes(low)), ("lows", lows), ("piece", PIECE))
    }
    assert max(figures.values()) <= DC_TARGET, figures
