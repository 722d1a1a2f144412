"""Which key notes are in (Krumhansl-Schmuckler), and the scale an answer in that key uses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .note import Note

# Krumhansl-Kessler probe-tone profiles (C major / C minor).
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10, 11)  # natural minor and the raised seventh of harmonic minor


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


def pearson(a: np.ndarray, b: np.ndarray) -> float:
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
            r = pearson(h, np.roll(profile, tonic))
            if best is None or r > best.correlation:
                best = Key(tonic, mode, r)
    return best


def key_pitch_classes(key: Key | None, played: frozenset[int] = frozenset()) -> frozenset[int] | None:
    """The scale a continuation keeps to when it follows a key. In minor, the seventh
    the player used (natural or raised) is the one the answer uses: a tune in harmonic
    minor answered with the natural seventh drifts to the relative major."""
    if key is None:
        return None
    steps = MAJOR_STEPS if key.mode == "major" else MINOR_STEPS
    classes = frozenset((key.tonic + s) % 12 for s in steps)
    sevenths = frozenset({(key.tonic + 10) % 12, (key.tonic + 11) % 12})
    if key.mode == "minor" and played & sevenths:
        classes = (classes - sevenths) | (played & sevenths)
    return classes
