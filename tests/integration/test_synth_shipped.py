"""The shipped synth, as liveai plays it: its own output has no click where a note ends
or is stolen, and a held note dies away, the higher the sooner, as the card says. Its
held chords carry their notes' harmonics and next to nothing between them; it is
silent before the first note, and has no DC (#20): the card's 1e-4 over any second,
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
    return max(float((np.abs(np.fft.rfft(audio[s:s + WINDOW] * window)) ** 2)[freqs > CUTOFF_HZ].sum())
               for s in range(at - WINDOW, at + 3 * WINDOW, WINDOW // 4))


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
        early, late = audio[SR // 10: SR // 10 + 2400], audio[3 * SR // 2: 3 * SR // 2 + 2400]
        return float(10 * np.log10(np.mean(late ** 2) / np.mean(early ** 2)))

    falls = [fall_db(p) for p in (48, 60, 72, 84)]
    assert falls[0] > falls[1] > falls[2] > falls[3] and falls[3] < -15 and falls[0] > -6, falls  # a low note holds


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
    assert peak_dbfs(audio[:round(1.5 * SR)]) <= -80.0


# Test piece 22 of the corpus's 40 (their canonical rendering, data/synth/audio/test.npz):
# the one whose DC was the largest; (start s, end s, pitch, velocity).
PIECE = [Note(*n) for n in [
    (0.100, 1.748, 68, 68), (0.350, 1.748, 70, 60), (0.600, 1.748, 71, 65), (0.850, 1.748, 73, 72),
    (1.100, 3.073, 40, 63), (1.100, 1.850, 56, 51), (1.100, 3.073, 59, 72), (1.100, 1.850, 63, 72),
    (1.100, 1.872, 75, 72), (1.350, 3.073, 47, 56), (1.600, 3.073, 52, 47), (1.850, 3.073, 56, 54),
    (1.850, 3.073, 63, 77), (1.850, 3.089, 80, 70), (2.600, 3.089, 75, 70), (3.100, 5.062, 51, 57),
    (3.100, 3.350, 54, 57), (3.100, 5.062, 58, 79), (3.100, 3.600, 61, 84), (3.100, 4.600, 73, 63),
    (3.350, 5.062, 54, 53), (3.600, 5.062, 61, 84), (3.850, 5.062, 66, 78), (3.850, 4.958, 78, 88),
    (4.600, 5.127, 73, 65), (5.100, 9.022, 44, 54), (5.100, 6.850, 59, 60), (5.100, 8.850, 63, 65),
    (5.100, 7.998, 71, 68), (5.350, 9.022, 51, 60), (5.600, 7.350, 56, 33), (5.850, 7.600, 58, 45),
    (5.850, 8.600, 61, 57), (6.850, 9.022, 59, 45), (7.350, 8.350, 56, 25), (7.600, 8.600, 58, 41),
    (7.850, 8.600, 66, 88), (8.100, 9.068, 68, 63), (8.350, 9.022, 56, 42), (8.350, 9.068, 70, 69),
    (8.600, 9.022, 58, 50), (8.600, 9.022, 61, 90), (8.600, 9.022, 66, 38), (8.600, 9.068, 71, 70),
    (8.850, 9.022, 63, 86), (8.850, 9.127, 73, 85), (9.100, 11.151, 40, 77), (9.100, 9.850, 56, 63),
    (9.100, 11.151, 59, 82), (9.100, 11.151, 63, 85), (9.100, 10.600, 75, 85), (9.350, 11.151, 47, 54),
    (9.600, 10.600, 52, 48), (9.850, 11.151, 56, 42), (9.850, 11.100, 66, 53), (9.850, 10.668, 80, 72),
    (10.600, 11.151, 52, 47), (10.600, 11.074, 75, 60), (11.100, 12.000, 39, 68), (11.100, 11.600, 58, 62),
    (11.100, 12.000, 61, 86), (11.100, 11.850, 66, 72), (11.100, 11.894, 73, 70), (11.350, 12.000, 51, 56),
    (11.600, 12.000, 58, 59), (11.850, 12.000, 66, 82), (11.870, 12.000, 80, 56),
]]
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
    figures = {name: worst_dc(render_notes(SynthRenderer(net), notes), SR)
               for name, notes in (("chords", chord_notes(low)), ("lows", lows), ("piece", PIECE))}
    assert max(figures.values()) <= DC_TARGET, figures
