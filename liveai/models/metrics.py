"""Small music metrics for checking that a continuation fits its prime."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from liveai.models.codec import Note

# Krumhansl-Kessler probe-tone profiles (C major / C minor).
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


@dataclass(frozen=True, slots=True)
class Key:
    tonic: int  # pitch class, 0 = C
    mode: str  # "major" | "minor"
    correlation: float  # Pearson r of the histogram with the rotated profile

    @property
    def name(self) -> str:
        return f"{PITCH_NAMES[self.tonic]} {self.mode}"


def pitch_class_histogram(notes: Sequence[Note], weight: str = "duration") -> np.ndarray:
    """(12,) histogram weighted by duration (seconds) or by note count ("count")."""
    h = np.zeros(12)
    for n in notes:
        h[n.pitch % 12] += (n.end - n.start) if weight == "duration" else 1.0
    return h


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def estimate_key(notes: Sequence[Note]) -> Key | None:
    """Krumhansl-Schmuckler: the major/minor key whose profile correlates best with
    the duration-weighted pitch-class histogram; None without notes."""
    h = pitch_class_histogram(notes)
    if h.sum() <= 0:
        return None
    best: Key | None = None
    for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for tonic in range(12):
            r = _pearson(h, np.roll(profile, tonic))
            if best is None or r > best.correlation:
                best = Key(tonic, mode, r)
    return best


def pitch_class_correlation(a: Sequence[Note], b: Sequence[Note]) -> float:
    """Pearson r between the duration-weighted pitch-class profiles of two note lists
    (1.0 = same tonal distribution, ~0 = unrelated)."""
    return _pearson(pitch_class_histogram(a), pitch_class_histogram(b))


def notes_per_second(notes: Sequence[Note]) -> float:
    """Onsets per second over the span from the first onset to the last note end."""
    if not notes:
        return 0.0
    span = max(n.end for n in notes) - min(n.start for n in notes)
    return len(notes) / span if span > 0 else 0.0


def compare(prime: Sequence[Note], continuation: Sequence[Note]) -> dict[str, object]:
    """Figures that tell whether a continuation sounds like its prime."""
    kp, kc = estimate_key(prime), estimate_key(continuation)
    return {
        "prime_key": kp.name if kp else None,
        "continuation_key": kc.name if kc else None,
        "pitch_class_correlation": round(pitch_class_correlation(prime, continuation), 4),
        "prime_notes_per_second": round(notes_per_second(prime), 3),
        "continuation_notes_per_second": round(notes_per_second(continuation), 3),
        "prime_notes": len(prime),
        "continuation_notes": len(continuation),
    }
