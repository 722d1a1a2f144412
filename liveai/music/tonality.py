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


def pitch_class_histogram(
    notes: Sequence[Note], weight: str = "duration", emphasis: Sequence[float] | None = None
) -> np.ndarray:
    """(12,) histogram weighted by duration (seconds) or by note count ("count"), each
    note's share multiplied by its `emphasis` when given."""
    h = np.zeros(12)
    for i, n in enumerate(notes):
        h[n.pitch % 12] += ((n.end - n.start) if weight == "duration" else 1.0) * (
            1.0 if emphasis is None else emphasis[i]
        )
    return h


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def estimate_key(notes: Sequence[Note], emphasis: Sequence[float] | None = None) -> Key | None:
    """Krumhansl-Schmuckler: the major/minor key whose profile correlates best with
    the duration-weighted pitch-class histogram (each note weighted by `emphasis`,
    when given); None without notes."""
    h = pitch_class_histogram(notes, emphasis=emphasis)
    if h.sum() <= 0:
        return None
    best: Key | None = None
    for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for tonic in range(12):
            r = pearson(h, np.roll(profile, tonic))
            if best is None or r > best.correlation:
                best = Key(tonic, mode, r)
    return best


def phrase_emphasis(
    notes: Sequence[Note], phrase_start: float, earlier: float = 0.2, final: float = 2.0
) -> list[float]:
    """How much each note says about the key a player is in now: the latest phrase (from
    `phrase_start`) counts fully and what came before only by `earlier` (a player who
    changes key is heard in the new one), and the phrase's last note, where a phrase
    comes to rest on its tonic, counts `final` times (A minor is not C major)."""
    weights = [1.0 if n.start >= phrase_start - 1e-6 else earlier for n in notes]
    latest = [i for i, n in enumerate(notes) if n.start >= phrase_start - 1e-6]
    if latest:
        weights[max(latest, key=lambda i: (notes[i].start, -notes[i].pitch))] *= final
    return weights


# Degrees a tune may take either way (semitones above the tonic): the key's own first,
# then the other. In major the fourth (Lydian raises it) and the seventh (Mixolydian
# lowers it); in minor the sixth (Dorian raises it) and the seventh (harmonic minor).
VARIABLE_DEGREES = {"major": ((5, 6), (11, 10)), "minor": ((8, 9), (10, 11))}


def key_pitch_classes(key: Key | None, played: frozenset[int] = frozenset()) -> frozenset[int] | None:
    """The scale a continuation keeps to when it follows a key: its seven degrees, each
    variable one taken as the player took it. A phrase in D dorian (B, not B flat) is
    answered in D dorian, a tune in harmonic minor with its raised seventh; a player
    who used neither form (or both) gets the key's own, but in minor both sevenths."""
    if key is None:
        return None
    classes = {(key.tonic + s) % 12 for s in (MAJOR_STEPS if key.mode == "major" else MINOR_STEPS)}
    for own, other in VARIABLE_DEGREES[key.mode]:
        a, b = (key.tonic + own) % 12, (key.tonic + other) % 12
        if b in played and a not in played:
            classes = (classes - {a}) | {b}
        elif a in played and b not in played:
            classes.discard(b)
    return frozenset(classes)
