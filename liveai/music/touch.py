"""A phrase's touch: how loud it is, where on its pulse it leans, and how its loudness
moves from its start to its end, so an answer can be played the same way.

The velocities are taken apart as level + contour (a line through the phrase's span,
at the level at its notes' mean place) + accent (a mean per position in a cycle of
grid points, about the level, kept only when it explains the velocities better than
chance would). An answer note's velocity puts them together again at its own place:
its share of the answer's span for the contour, its grid point for the accent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .note import Note
from .pulse import Pulse

CYCLES = (2, 3, 4, 6, 8)


@dataclass(frozen=True)
class Touch:
    level: float  # mean velocity
    slope: float  # velocity change over the whole phrase (end minus start of the line)
    accents: tuple[float, ...] = ()  # offset per grid point, cycle len(accents); () for none
    pulse: Pulse | None = None

    def velocity(self, t: float, progress: float, scale: float = 1.0) -> int:
        """The velocity of a note at time `t`, `progress` (0..1) through its phrase."""
        v = self.level + self.slope * (min(max(progress, 0.0), 1.0) - 0.5)
        if self.accents and self.pulse is not None:
            v += self.accents[self.pulse.index(t) % len(self.accents)]
        return int(min(max(round(v * scale), 1), 127))


def touch_of(notes: Sequence[Note], pulse: Pulse | None) -> Touch | None:
    """The touch of a phrase; None without notes."""
    if not notes:
        return None
    vs = [float(n.velocity) for n in notes]
    level = sum(vs) / len(vs)
    t0, t1 = min(n.start for n in notes), max(n.start for n in notes)
    span = t1 - t0
    slope = 0.0
    us = [(n.start - t0) / span if span > 0 else 0.5 for n in notes]
    mean_u = sum(us) / len(us)
    if span > 0 and len(notes) >= 3:
        var_u = sum((u - mean_u) ** 2 for u in us)
        if var_u > 0:
            slope = sum((u - mean_u) * (v - level) for u, v in zip(us, vs)) / var_u
    # the line goes through the mean at the notes' mean place (not the span's middle,
    # which would leave a constant for the accents to take up as if it were one)
    residual = [v - level - slope * (u - mean_u) for u, v in zip(us, vs)]
    accents = _accents(notes, residual, pulse) if pulse is not None else ()
    return Touch(level, slope, accents, pulse)


def _accents(notes: Sequence[Note], residual: Sequence[float], pulse: Pulse) -> tuple[float, ...]:
    """The cycle whose per-position means explain the most of what contour leaves,
    by adjusted R^2 (more positions must earn their keep); () if none explains any."""
    n = len(notes)
    total = sum(r * r for r in residual)
    best: tuple[float, tuple[float, ...]] = (0.0, ())
    if total <= 1e-9:
        return ()
    for cycle in CYCLES:
        if n <= cycle + 1:
            continue
        sums, counts = [0.0] * cycle, [0] * cycle
        for note, r in zip(notes, residual):
            k = pulse.index(note.start) % cycle
            sums[k] += r
            counts[k] += 1
        means = [s / c if c else 0.0 for s, c in zip(sums, counts)]
        left = sum((r - means[pulse.index(note.start) % cycle]) ** 2 for note, r in zip(notes, residual))
        adjusted = 1.0 - (left / total) * (n - 1) / (n - cycle)
        if adjusted > best[0]:
            centre = sum(means) / cycle  # accents move notes about the level, never the level
            best = (adjusted, tuple(m - centre for m in means))
    return best[1]
