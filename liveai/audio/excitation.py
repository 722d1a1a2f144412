"""The synth's sources, in numpy: each voice's harmonics, a bright pulse, and noise
that depends only on the sample's index. The render process builds them for every
block, so they are whole-block array operations with no per-sample Python (numpy's
small calls cost a few microseconds where torch's cost tens).

The wave functions take the sounding voices' rows only: each sample's phase (as cycles,
or as an angle, `cycles(phase)`) and `f0` (Hz, 0 = silent), each (voices, n).
"""

from __future__ import annotations

import numpy as np


def cycles(phase: np.ndarray) -> np.ndarray:
    """Phases in cycles as angles in [0, 2 pi), float32: what the sources below take."""
    return (2 * np.pi * np.remainder(phase, 1.0)).astype(np.float32)


def harmonic_waves(cycle: np.ndarray, f0: np.ndarray, sample_rate: int, harmonics: int) -> np.ndarray:
    """Each voice's first `harmonics` sines at 1/h amplitudes, none above Nyquist:
    (voices, n) float32."""
    nyquist = sample_rate / 2
    # sin(h x) by the Chebyshev recurrence: one sine and one cosine, not `harmonics` sines
    sin_1 = np.sin(cycle)
    twice_cos = 2 * np.cos(cycle)
    wave = sin_1 * (f0 < nyquist)
    below, now = np.zeros_like(cycle), sin_1
    all_below = bool((f0 * harmonics < nyquist).all())  # no harmonic to leave out: no mask to build
    for h in range(2, harmonics + 1):
        below, now = now, twice_cos * now - below
        wave += now * (np.float32(1 / h) if all_below else (f0 * h < nyquist) / np.float32(h))
    return wave


def pulse_waves(phase: np.ndarray, f0: np.ndarray, sample_rate: int) -> np.ndarray:
    """Each voice's harmonics at equal amplitudes, every one below Nyquist (a band-limited
    pulse: the brightness 1/h harmonics lack), divided by their count so that its peak
    is 1: (voices, n) float32, from the phase in cycles. The sum of cos(h x) for
    h = 1..H is sin((H + 1/2) x) / (2 sin(x / 2)) - 1/2, which tends to H where
    sin(x / 2) is 0; it is computed in float64 from the phase wrapped to [-1/2, 1/2)
    (float32 loses the low notes' many harmonics, and the peak near a whole cycle)."""
    x = 2 * np.pi * (phase - np.floor(phase + 0.5))
    count = np.floor(sample_rate / 2 / np.maximum(f0.astype(np.float64), 1.0))  # H
    half = np.sin(x / 2)
    at_peak = np.abs(half) < 1e-12
    summed = np.sin((count + 0.5) * x) / (2 * np.where(at_peak, 1.0, half)) - 0.5
    summed = np.where(at_peak, count, summed)
    return (summed / np.maximum(count, 1.0) * (f0 > 0)).astype(np.float32)


_M32 = np.uint64(0xFFFFFFFF)


def _mix(x: np.ndarray) -> np.ndarray:
    """A 32-bit integer hash (lowbias32), elementwise on uint64 arrays."""
    x = x & _M32
    x = ((x ^ (x >> np.uint64(16))) * np.uint64(0x7FEB352D)) & _M32
    x = ((x ^ (x >> np.uint64(15))) * np.uint64(0x846CA68B)) & _M32
    return x ^ (x >> np.uint64(16))


def block_noise(start: int, length: int, seed: int = 0) -> np.ndarray:
    """White noise in -1..1 (float32) that depends only on the sample's index and the
    seed: a block from `start` is the same samples the whole signal has there."""
    key = _mix(_mix(np.array([seed * 0x51ED27 + 1], dtype=np.uint64)))
    index = np.arange(start, start + length, dtype=np.uint64)
    x = _mix(_mix(index ^ key) + key)
    return (x.astype(np.float64) / float(1 << 31) - 1.0).astype(np.float32)
