"""The shipped synth, as liveai plays it: its own output has no click where a note ends
or is stolen, and a held note dies away, the higher the sooner, as the card says. Its
held chords carry their notes' harmonics and next to nothing between them; it is
silent before the first note, and has no DC (#20).

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
from liveai.audio.harmonics import chord_figures, chord_notes, peak_dbfs, worst_dc
from liveai.audio.renderer import SynthRenderer, render_notes
from liveai.data.audio import fluidsynth_render
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


def test_silence_before_the_first_note_and_no_dc(net) -> None:
    """A render whose first note is 1.5 s in is silent until it (the first synths began
    with a click of -23.6 dBFS), and low notes add no DC shift: their mean over any
    second stays within 2.5 times FluidSynth's own by the same measure (the onset of a
    low note has some; FluidSynth 1.0e-4 here, the shipped synth 1.9e-4, the first
    synths 5e-3; the card's target of 1e-4 is not met)."""
    notes = [Note(1.5, 4.0, 36, 110), Note(1.5, 4.0, 43, 100), Note(4.5, 6.0, 28, 120)]
    audio = render_notes(SynthRenderer(net), notes)
    assert peak_dbfs(audio[:round(1.5 * SR)]) <= -80.0
    reference = worst_dc(fluidsynth_render(notes, SR), SR)
    assert worst_dc(audio, SR) <= 2.5 * reference, (worst_dc(audio, SR), reference)
