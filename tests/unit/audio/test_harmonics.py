"""The chord measures (liveai.audio.harmonics): a chord's own harmonics read as clean,
a difference tone between them as the level it has; DC and the start read as they are."""

from __future__ import annotations

import numpy as np
import pytest

from liveai.audio.harmonics import (
    HIGH_HZ,
    LOW_HZ,
    ROOTS,
    SHAPES,
    before_first_dbfs,
    chord_figures,
    chord_notes,
    chord_set,
    clipped_share,
    hz,
    masked_share,
    off_harmonic_db,
    onsets,
    peak_dbfs,
    worst_dc,
)

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
    scaled = stray * np.sqrt(np.mean(clean**2) / np.mean(stray**2)) * 10 ** (level_db / 20)
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
    audio[round(1.5 * SR) : round(3.5 * SR)] = clean
    audio[round(4.5 * SR) : round(6.5 * SR)] = dirty
    first, second = chord_figures(audio, [CHORD, CHORD], SR)
    assert first < -80 and second > -40


def test_dc_and_the_start() -> None:
    """A second of offset starting a quarter second past a whole second is read whole; a
    low note with no DC, cut anywhere by the second, reads none."""
    audio = 0.5 * np.sin(2 * np.pi * 100.0 * np.arange(3 * SR) / SR)
    at = SR + SR // 4
    audio[at : at + SR] += 1e-3
    assert worst_dc(audio, SR) == pytest.approx(1e-3, rel=0.01)
    low = 0.5 * np.sin(2 * np.pi * hz(36) * np.arange(3 * SR) / SR)  # C2, 65.4 Hz
    assert worst_dc(low, SR) < 1e-6 < abs(low[SR // 3 : SR // 3 + SR].mean())
    assert worst_dc(np.zeros(SR), SR) == 0.0
    assert peak_dbfs(np.zeros(at)) == -300.0 and peak_dbfs(audio) == pytest.approx(
        20 * np.log10(0.501), abs=0.01
    )
    assert before_first_dbfs(audio, 0) is None and before_first_dbfs(np.zeros(at), at) == -300.0
    assert clipped_share(np.array([0.1, -0.4, 0.3, 0.2]), 3.0) == 0.25


C2_TRIAD = (36, 40, 43)
T = np.arange(SR) / SR


def voice(pitch: int) -> np.ndarray:
    return 0.05 * sum(np.sin(2 * np.pi * hz(pitch) * h * T + h) / h for h in range(1, 17))


def test_a_low_chords_difference_tone_below_20_hz_reads_at_its_level() -> None:
    """E2 - C2 = 17 Hz: a low chord's first difference tone, under the old 20 Hz floor."""
    clean = sum(voice(p) for p in C2_TRIAD)
    stray = np.sin(2 * np.pi * (hz(40) - hz(36)) * T)
    scaled = stray * np.sqrt(np.mean(clean**2) / np.mean(stray**2)) * 10 ** (-40 / 20)
    assert abs(off_harmonic_db(clean + scaled, C2_TRIAD, SR) - -40) < 1.0


@pytest.mark.parametrize("pitches", [C2_TRIAD, (36, 37, 38), (60, 64, 67), (84, 88, 91)])
def test_a_tanh_over_summed_voices_reads_its_intermodulation(pitches: tuple[int, ...]) -> None:
    """Calibration: tanh of the summed voices against the sum of each voice's tanh (the
    intermodulation, exactly). The reading is within 1.5 dB of the intermodulation's
    energy off the harmonics (each counted by a Hann window's FFT), and within 8 dB
    of all of it (the rest lands on the notes' own harmonics); the chord's harmonics
    cover under half of the band (they covered 66-73 % of it for C2 chords)."""
    voices = [voice(p) for p in pitches]
    y = np.tanh(2 * sum(voices)) / 2
    linear = sum(np.tanh(2 * v) / 2 for v in voices)
    power = lambda x: np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2  # noqa: E731
    freqs = np.fft.rfftfreq(SR, 1 / SR)
    band = (freqs >= LOW_HZ) & (freqs <= HIGH_HZ)
    on = np.zeros(len(freqs), dtype=bool)
    for p in pitches:
        for h in range(1, int(HIGH_HZ / hz(p)) + 2):
            on |= np.abs(freqs - hz(p) * h) <= 4.0
    im, lin = power(y - linear), power(linear)
    off_figure = 10 * np.log10(im[band & ~on].sum() / lin[band & on].sum())
    whole = 10 * np.log10(np.sum((y - linear) ** 2) / np.sum(linear**2))
    reading = off_harmonic_db(y, pitches, SR)
    assert abs(reading - off_figure) < 1.5, (reading, off_figure)
    assert whole - 8.0 < reading <= whole + 0.5, (reading, whole)
    assert masked_share(pitches) < 0.5
