"""Voicings: the 1-3 voices sounding under a melody note, as semitones below it.

A voicing is a tuple of distinct intervals in 1..MAX_BELOW, lowest voice (largest
interval) first: (16, 9) under E5 is C4 and G4. Written relative to the melody, a
voicing is the same in every key, and whether it is consonant is fixed by the
intervals alone. The harmony model chooses among voicings; the same figures
(consonance, motion, parallels) score every harmonizer on the card.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import combinations

MAX_BELOW = 24  # the lowest voice within two octaves of the melody
CONSONANT = frozenset({0, 3, 4, 5, 7, 8, 9})  # semitones mod 12: unisons, 3rds, 4ths, 5ths, 6ths
PERFECT = frozenset({0, 7})  # octaves and fifths, mod 12: parallel motion in them is "parallels"

Voicing = tuple[int, ...]


def consonant(pitches: Iterable[int]) -> bool:
    """Whether every interval among `pitches` (the melody's included) is consonant."""
    ps = list(pitches)
    return all(abs(a - b) % 12 in CONSONANT for a, b in combinations(ps, 2))


def fold(interval: int) -> int:
    """An interval below the melody moved by octaves into 1..MAX_BELOW (a voice on or
    above the melody goes below it)."""
    while interval <= 0:
        interval += 12
    while interval > MAX_BELOW:
        interval -= 12
    return interval


def voicing_of(melody: int, pitches: Sequence[int], voices: int = 3) -> Voicing:
    """The voicing of at most `voices` voices that real `pitches` sounding under (or
    around) `melody` give: folded into reach, distinct, and the largest consonant
    choice among them, the lowest pitch kept first (the bass carries the harmony).
    () when nothing consonant is left."""
    order = sorted(set(pitches))  # the bass first, then upwards
    intervals: list[int] = []
    for p in order:
        i = fold(int(melody) - int(p))
        if i not in intervals:
            intervals.append(i)
    for size in range(min(voices, len(intervals)), 0, -1):
        for chosen in combinations(intervals, size):  # in priority order: the bass's come first
            if consonant([0, *(-i for i in chosen)]):
                return tuple(sorted(chosen, reverse=True))
    return ()


def motion(before: Sequence[int], after: Sequence[int]) -> float:
    """Mean semitones each voice of `after` moved: each from the nearest voice of
    `before` (voices come and go with the voice count; 0 without a chord before)."""
    if not before or not after:
        return 0.0
    return sum(min(abs(a - b) for b in before) for a in after) / len(after)


def parallels(before: Sequence[int], after: Sequence[int]) -> int:
    """Parallel fifths and octaves between two chords of equal size (melody first, then
    the voices in order): pairs a perfect interval apart in both that moved together."""
    if len(before) != len(after):
        return 0
    count = 0
    for i, j in combinations(range(len(after)), 2):
        a0, b0, a1, b1 = before[i], before[j], after[i], after[j]
        if a0 == a1 or b0 == b1 or (a1 - a0 > 0) != (b1 - b0 > 0):
            continue  # a voice held, or contrary motion
        if (
            abs(a0 - b0) % 12 in PERFECT
            and abs(a1 - b1) % 12 in PERFECT
            and abs(a0 - b0) % 12 == abs(a1 - b1) % 12
        ):
            count += 1
    return count


def pitch_class_share(real: Iterable[int], chosen: Iterable[int]) -> tuple[int, int]:
    """(how many of the real voicing's pitch classes the chosen pitches contain, how many there are)."""
    real_pcs = {p % 12 for p in real}
    chosen_pcs = {p % 12 for p in chosen}
    return len(real_pcs & chosen_pcs), len(real_pcs)
