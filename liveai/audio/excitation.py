"""The synth's sources (#12), in numpy: each voice's harmonics, and noise that depends
only on the sample's index. The render process builds them for every block, so they
are whole-block array operations with no per-sample Python (numpy's small calls cost a
few microseconds where torch's cost tens).
"""

from __future__ import annotations

import numpy as np


def harmonic_excitation(phase: np.ndarray, f0: np.ndarray, envelope: np.ndarray, sample_rate: int,
                        harmonics: int) -> np.ndarray:
    """Sum over voices of `harmonics` sines (1/h amplitudes, none above Nyquist): voice
    i's sample j is drawn at `phase[i, j]` (cycles) and f0 `f0[i, j]` (Hz, 0 = silent),
    scaled by `envelope[i, j]`. Returns (n,) float32; only voices that sound are computed."""
    out = np.zeros(phase.shape[-1], dtype=np.float32)
    rows = np.nonzero(envelope.max(axis=-1) > 0)[0]
    if len(rows) == 0:
        return out
    cycle = (2 * np.pi * np.remainder(phase[rows], 1.0)).astype(np.float32)
    hz, env = f0[rows], envelope[rows]
    nyquist = sample_rate / 2
    # sin(h x) by the Chebyshev recurrence: one sine and one cosine, not `harmonics` sines
    sin_1 = np.sin(cycle)
    twice_cos = 2 * np.cos(cycle)
    wave = sin_1 * (hz < nyquist)
    below, now = np.zeros_like(cycle), sin_1
    for h in range(2, harmonics + 1):
        below, now = now, twice_cos * now - below
        wave += now * ((hz * h < nyquist) / np.float32(h))
    out += (wave * env).sum(axis=0)
    return out


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
