"""The synth's sources: harmonics at the right pitch (none above Nyquist), continuous
across blocks; noise that is the same samples in any blocks, and independent per seed."""

from __future__ import annotations

import numpy as np

from liveai.audio.excitation import block_noise, cycles, harmonic_waves, pulse_waves
from liveai.audio.voices import Voices

SR = 48_000


def test_harmonics_are_the_sawtooth_series_below_nyquist() -> None:
    n = 4800
    t = np.arange(n) / SR
    phase = np.stack([440.0 * t, 3000.0 * t])
    f0 = np.stack([np.full(n, 440.0), np.full(n, 3000.0)]).astype(np.float32)
    out = harmonic_waves(cycles(phase), f0, SR, harmonics=16).sum(axis=0)
    expected = sum(np.sin(2 * np.pi * h * 440 * t) / h for h in range(1, 17))
    expected += sum(np.sin(2 * np.pi * h * 3000 * t) / h for h in range(1, 9))  # 8 x 3 kHz is Nyquist
    assert np.abs(out - expected).max() < 1e-4


def test_a_held_voice_is_one_waveform_however_the_blocks_fall() -> None:
    def rendered(sizes: list[int]) -> np.ndarray:
        voices = Voices(2, SR)
        voices.note_on(69, 127, at=0)
        parts = []
        for size in sizes:
            f0, env, phase = voices.render(size)
            parts.append((harmonic_waves(cycles(phase), f0.astype(np.float32), SR, 8) * env).sum(axis=0))
        return np.concatenate(parts)

    whole = rendered([3000])
    assert np.abs(rendered([1, 7, 64, 256, 1000, 1672]) - whole).max() < 1e-5


def test_noise_is_the_same_samples_in_any_blocks() -> None:
    whole = block_noise(0, 5000, seed=4)
    parts = np.concatenate([block_noise(s, n, seed=4) for s, n in ((0, 1), (1, 7), (8, 992), (1000, 4000))])
    assert np.array_equal(whole, parts)
    assert np.abs(whole).max() <= 1.0 and abs(whole.mean()) < 0.05 and 0.25 < whole.var() < 0.42
    other = block_noise(0, 5000, seed=5)
    for shift in range(0, 5000, 97):  # seeds are not shifted copies of each other
        assert not np.array_equal(whole[shift : shift + 50], other[:50])
    assert abs(np.corrcoef(whole, other)[0, 1]) < 0.05


def test_the_pulse_is_every_harmonic_below_nyquist_at_equal_amplitude_and_peaks_at_one() -> None:
    n = 4800
    t = np.arange(n) / SR
    for hz in (27.5, 32.7, 440.0, 3000.0, 7000.0):
        out = pulse_waves((hz * t)[None], np.full((1, n), hz, dtype=np.float32), SR)[0]
        count = int(SR / 2 // hz)
        expected = sum(np.cos(2 * np.pi * h * hz * t) for h in range(1, count + 1)) / count
        assert np.abs(out - expected).max() < 1e-5, hz
        assert abs(out.max() - 1.0) < 1e-5  # at phase 0, where the closed form divides by zero
    near_a_cycle = np.array([[1 - 1e-9, 7 - 1e-7, 3 + 1e-9]])  # the peak, however the phase has wrapped
    assert np.abs(pulse_waves(near_a_cycle, np.full((1, 3), 55.0, dtype=np.float32), SR) - 1.0).max() < 1e-4
    silent = pulse_waves(np.zeros((1, 8)), np.zeros((1, 8), dtype=np.float32), SR)
    assert not silent.any()
