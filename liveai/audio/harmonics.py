"""How clean the synth's chords are, for scripts/eval_synth.py and the tests: one
code path for the synth and for FluidSynth.

- Off-harmonic energy: a held chord's spectrum (a 1 s steady segment, Blackman-Harris
  window, 1 Hz bins) split into the bins within `tolerance` of a harmonic of one of its
  notes (equal temperament, A4 = 440 Hz) and the rest, from 20 Hz to 8 kHz; the rest's
  energy relative to the harmonics', dB. A synth that adds only its notes' harmonics
  scores low; distortion of the summed voices (intermodulation, the difference tones of
  a tanh) lands between them.
- DC: the largest |mean| over any second, weighted by a Hann window (a plain mean of a
  low note's fundamental over a second that cuts one of its periods reads its leakage as
  DC: 1e-4 from a 65 Hz tone of amplitude 0.02; the Hann window keeps only what is
  below about 2 Hz).
- Start: the peak level before the first note, dBFS (a synth at rest should be silent);
  None where nothing comes before it (a piece that starts at its first sample).
- Clipping: the share of samples that the stream's `audio.gain` would push past full scale.

Calibration (tests/unit/audio/test_harmonics.py): a tanh over clean summed voices reads
what its intermodulation puts off the harmonics. Most of a tanh's intermodulation
(60-86 % of it for triads and clusters) lands on the notes' own harmonics (one note
compressing another): a level change no spectrum tells from the notes, so the reading is
4-8 dB below the whole intermodulation's energy.

`CHORDS` is the chord set of the card: triads, sevenths and clusters on C2..C6, each
held alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..music.note import Note

A4 = 440.0
# The band measured: from just past DC's main lobe (a chord's low difference tones, 15 Hz
# between C2 and E2, lie below 20 Hz) to 8 kHz.
LOW_HZ, HIGH_HZ = 5.0, 8000.0
# A harmonic's bins: the window's main lobe (4 bins of a Blackman-Harris window, 4 Hz over
# 1 s) and 1 cent more for tuning (FluidSynth's samples). Wider (5 Hz + 0.2 %) the low
# chords' harmonics covered 66-73 % of the band and hid the difference tones.
LOBE_HZ, CENT = 4.0, 2 ** (1 / 1200) - 1
SHAPES = {
    "major": (0, 4, 7),
    "minor": (0, 3, 7),
    "dominant 7th": (0, 4, 7, 10),
    "major 7th": (0, 4, 7, 11),
    "cluster": (0, 1, 2),
}
ROOTS = (36, 48, 60, 72, 84)  # C2..C6
HOLD_S, GAP_S, VELOCITY = 2.0, 1.0, 90
SEGMENT = (0.5, 1.5)  # s after the onset: the steady part measured (past the knock, before the release)
LEAD_S = 1.5  # silence before the first chord: the start is measured there


def hz(pitch: int) -> float:
    return A4 * 2.0 ** ((pitch - 69) / 12)


def chord_set() -> list[tuple[str, tuple[int, ...]]]:
    """(name, pitches) of every chord of the set: each shape on each root."""
    return [
        (f"{name} {root}", tuple(root + i for i in shape)) for root in ROOTS for name, shape in SHAPES.items()
    ]


def chord_notes(
    chords: Sequence[tuple[int, ...]],
    hold_s: float = HOLD_S,
    gap_s: float = GAP_S,
    velocity: int = VELOCITY,
    lead_s: float = LEAD_S,
) -> list[Note]:
    """Each chord held `hold_s`, alone, `gap_s` apart, the first after `lead_s` of silence."""
    step = hold_s + gap_s
    return [
        Note(lead_s + i * step, lead_s + i * step + hold_s, p, velocity)
        for i, pitches in enumerate(chords)
        for p in pitches
    ]


def onsets(chords: int, hold_s: float = HOLD_S, gap_s: float = GAP_S, lead_s: float = LEAD_S) -> list[float]:
    return [lead_s + i * (hold_s + gap_s) for i in range(chords)]


def harmonic_mask(
    pitches: Sequence[int], freqs: np.ndarray, tolerance_hz: float = LOBE_HZ, relative: float = CENT
) -> np.ndarray:
    """The bins within tolerance_hz + relative x f of a harmonic of one of `pitches`."""
    mask = np.zeros(len(freqs), dtype=bool)
    for pitch in pitches:
        f0 = hz(pitch)
        for f in f0 * np.arange(1, int(HIGH_HZ / f0) + 2):
            mask |= np.abs(freqs - f) <= tolerance_hz + relative * f
    return mask


def off_harmonic_db(audio: np.ndarray, pitches: Sequence[int], rate: int) -> float:
    """The energy off the harmonics of `pitches` relative to the energy on them, dB, in
    `audio` (a steady segment of the chord, its length the FFT's)."""
    x = np.asarray(audio, dtype=np.float64)
    n = len(x)
    k = np.arange(n) / n
    window = (
        0.35875
        - 0.48829 * np.cos(2 * np.pi * k)
        + 0.14128 * np.cos(4 * np.pi * k)
        - 0.01168 * np.cos(6 * np.pi * k)
    )
    power = np.abs(np.fft.rfft(x * window)) ** 2
    freqs = np.fft.rfftfreq(n, 1 / rate)
    band = (freqs >= LOW_HZ) & (freqs <= HIGH_HZ)
    on = harmonic_mask(pitches, freqs) & band
    off = ~on & band
    return float(10 * np.log10((power[off].sum() + 1e-30) / (power[on].sum() + 1e-30)))


def masked_share(pitches: Sequence[int], seconds: float = SEGMENT[1] - SEGMENT[0]) -> float:
    """The share of the band's bins that off_harmonic_db counts as harmonic for `pitches`
    over a segment of `seconds` (what it cannot see intermodulation in)."""
    freqs = np.arange(0.0, HIGH_HZ + 1.0, 1.0 / seconds)
    band = (freqs >= LOW_HZ) & (freqs <= HIGH_HZ)
    return float(harmonic_mask(pitches, freqs)[band].mean())


def chord_figures(
    audio: np.ndarray, chords: Sequence[tuple[int, ...]], rate: int, starts: Sequence[float] | None = None
) -> list[float]:
    """off_harmonic_db of each chord's SEGMENT in `audio` (rendered from chord_notes)."""
    starts = onsets(len(chords)) if starts is None else starts
    a, b = SEGMENT
    return [
        off_harmonic_db(audio[round((s + a) * rate) : round((s + b) * rate)], pitches, rate)
        for s, pitches in zip(starts, chords)
    ]


def worst_dc(audio: np.ndarray, rate: int) -> float:
    """The largest |Hann-weighted mean| over one-second windows (hopping by a quarter
    second); a shorter sound, its own length."""
    x = np.asarray(audio, dtype=np.float64)
    if not len(x):
        return 0.0
    n = min(rate, len(x))
    weights = np.hanning(n + 2)[1:-1]  # no zero ends: a one-sample sound is its own mean
    weights /= weights.sum()
    starts = np.arange(0, len(x) - n + 1, max(n // 4, 1))
    return float(max(abs(x[s : s + n] @ weights) for s in starts))


def peak_dbfs(audio: np.ndarray) -> float:
    """The peak level of `audio`, dBFS (-inf-free: exact silence is -300)."""
    peak = float(np.abs(np.asarray(audio, dtype=np.float64)).max()) if len(audio) else 0.0
    return 20 * np.log10(max(peak, 1e-15))


def before_first_dbfs(audio: np.ndarray, first: int) -> float | None:
    """peak_dbfs of the `first` samples before the first note; None when there are none
    (a piece that starts at its first sample has no silence to measure, which is not
    silence measured)."""
    return round(peak_dbfs(audio[:first]), 1) if first > 0 else None


def clipped_share(audio: np.ndarray, gain: float) -> float:
    """The share of samples of `audio` (before gain) that `gain` pushes past full scale."""
    return float((np.abs(np.asarray(audio)) * gain > 1.0).mean()) if len(audio) else 0.0
