"""The chord measures (liveai.audio.harmonics): a chord's own harmonics read as clean,
a difference tone between them as the level it has; DC and the start read as they are."""

from __future__ import annotations

import numpy as np
import pytest

from liveai.audio.harmonics import (ROOTS, SHAPES, chord_figures, chord_notes, chord_set, hz, off_harmonic_db,
                                    onsets, peak_dbfs, worst_dc)

SR = 48_000
CHORD = (48, 52, 55)  # C3 E3 G3


def chord(seconds: float = 1.0, harmonics: int = 12) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    return sum(np.sin(2 * np.pi * hz(p) * h * t + h) / h for p in CHORD for h in range(1, harmonics + 1))


def test_a_chord_of_its_own_harmonics_is_clean() -> None:
    assert off_harmonic_db(chord(), CHORD, SR) < -80


@pytest.mark.parametrize("level_db", [-20, -40, -60])
def test_a_tone_between_the_harmonics_reads_at_its_level(level_db: int) -> None:
    """A difference tone (E3 - C3 = 34 Hz, and one at 1 kHz, off every harmonic) at a
    known level under the harmonics reads within 1 dB of it."""
    clean = chord()
    t = np.arange(len(clean)) / SR
    stray = np.sin(2 * np.pi * (hz(52) - hz(48)) * t) + np.sin(2 * np.pi * 1000.0 * t)
    scaled = stray * np.sqrt(np.mean(clean ** 2) / np.mean(stray ** 2)) * 10 ** (level_db / 20)
    assert abs(off_harmonic_db(clean + scaled, CHORD, SR) - level_db) < 1.0


def test_the_set_and_its_notes() -> None:
    chords = [p for _, p in chord_set()]
    assert len(chords) == len(SHAPES) * len(ROOTS) and chords[0] == (36, 40, 43)
    notes = chord_notes(chords[:2])
    assert [n.start for n in notes] == [1.5] * 3 + [4.5] * 3 and onsets(2) == [1.5, 4.5]


def test_chord_figures_read_each_chord_in_its_place() -> None:
    """Two chords in a row: the second one dirty, only its figure is."""
    clean = chord(2.0)
    dirty = clean + 0.1 * np.sin(2 * np.pi * 1000.0 * np.arange(len(clean)) / SR)
    audio = np.zeros(round(6.5 * SR))
    audio[round(1.5 * SR):round(3.5 * SR)] = clean
    audio[round(4.5 * SR):round(6.5 * SR)] = dirty
    first, second = chord_figures(audio, [CHORD, CHORD], SR)
    assert first < -80 and second > -40


def test_dc_and_the_start() -> None:
    """A second of offset starting a quarter second past a whole second is read whole; a
    low note with no DC, cut anywhere by the second, reads none."""
    audio = 0.5 * np.sin(2 * np.pi * 100.0 * np.arange(3 * SR) / SR)
    at = SR + SR // 4
    audio[at:at + SR] += 1e-3
    assert worst_dc(audio, SR) == pytest.approx(1e-3, rel=0.01)
    low = 0.5 * np.sin(2 * np.pi * hz(36) * np.arange(3 * SR) / SR)  # C2, 65.4 Hz
    assert worst_dc(low, SR) < 1e-6 < abs(low[SR // 3:SR // 3 + SR].mean())
    assert worst_dc(np.zeros(SR), SR) == 0.0
    assert peak_dbfs(np.zeros(at)) == -300.0 and peak_dbfs(audio) == pytest.approx(20 * np.log10(0.501), abs=0.01)
