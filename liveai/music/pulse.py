"""A phrase's pulse: the grid its onsets sit on, inferred from the onsets alone.

Without a clock the duet cannot know where the player's beats fall, but their notes
show it: the grid is the coarsest period among the phrase's times between onsets (and
their halves, thirds and quarters) that holds nearly every onset, its phase the
circular mean of the onsets on it, both refined by least squares (the player's tempo,
not the first two notes'). An answer then starts on that grid carried forward and
moves on it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .note import Note

CHORD_S = 0.03  # onsets this close are one chord (a hand is never exactly together)
MIN_PERIOD_S = 0.08
MAX_PERIOD_S = 1.2
FIT_SHARE = 0.9  # a grid must hold this share of the onsets
SUBDIVISIONS = (1, 2, 3, 4)


@dataclass(frozen=True)
class Pulse:
    """Grid points at `anchor` + k * `period` seconds, k any integer."""

    period: float
    anchor: float

    def index(self, t: float) -> int:
        """The grid point nearest `t`."""
        return round((t - self.anchor) / self.period)

    def at(self, k: int) -> float:
        return self.anchor + k * self.period

    def after(self, t: float) -> float:
        """The first grid point at or after `t`."""
        return self.at(math.ceil((t - self.anchor) / self.period - 1e-9))

    def error(self, t: float) -> float:
        """Seconds from `t` to the nearest grid point."""
        return abs(t - self.at(self.index(t)))


def onset_groups(notes: Sequence[Note]) -> list[list[Note]]:
    """Notes begun together (within CHORD_S of the first), in time order."""
    groups: list[list[Note]] = []
    for n in sorted(notes, key=lambda n: n.start):
        if groups and n.start - groups[-1][0].start <= CHORD_S:
            groups[-1].append(n)
        else:
            groups.append([n])
    return groups


def most_together(notes: Sequence[Note]) -> int:
    """The most notes the phrase begins at once: 1 for a melody, 0 for nothing."""
    return max((len(g) for g in onset_groups(notes)), default=0)


def shortest_ioi(notes: Sequence[Note]) -> float | None:
    """The shortest time between the phrase's onsets (chords counted once)."""
    starts = [g[0].start for g in onset_groups(notes)]
    return min((b - a for a, b in zip(starts, starts[1:])), default=None)


def tolerance(period: float) -> float:
    """How far off its grid point a played onset may be and still be on it: never so
    far that a random onset would be on a fine grid more than a quarter of the time."""
    return min(0.04, 0.12 * period)


def infer_pulse(notes: Sequence[Note]) -> Pulse | None:
    """The coarsest grid that holds FIT_SHARE of the onsets, or None for fewer than
    three onsets or no regular pulse."""
    starts = [g[0].start for g in onset_groups(notes)]
    if len(starts) < 3:
        return None
    iois = sorted(b - a for a, b in zip(starts, starts[1:]))
    candidates = sorted(
        {round(ioi / d, 3) for ioi in iois for d in SUBDIVISIONS if MIN_PERIOD_S <= ioi / d <= MAX_PERIOD_S},
        reverse=True,
    )
    for period in candidates:
        anchor = _circular_mean(starts, period)
        held = [t for t in starts if _distance(t, anchor, period) <= tolerance(period)]
        if len(held) >= FIT_SHARE * len(starts):
            return _refine(held, Pulse(period, anchor))
    return None


def _circular_mean(times: Sequence[float], period: float) -> float:
    """The phase (seconds in [0, period)) that the times gather around."""
    c = sum(math.cos(2 * math.pi * t / period) for t in times)
    s = sum(math.sin(2 * math.pi * t / period) for t in times)
    return (math.atan2(s, c) / (2 * math.pi) * period) % period


def _distance(t: float, anchor: float, period: float) -> float:
    x = (t - anchor) / period
    return abs(x - round(x)) * period


def _refine(times: Sequence[float], pulse: Pulse) -> Pulse:
    """Least squares of time on grid index: the period and phase the onsets agree on,
    anchored at the latest onset (what an answer carries forward)."""
    ks = [pulse.index(t) for t in times]
    n = len(ks)
    mean_k, mean_t = sum(ks) / n, sum(times) / n
    var_k = sum((k - mean_k) ** 2 for k in ks)
    period = pulse.period
    if var_k > 0:
        fitted = sum((k - mean_k) * (t - mean_t) for k, t in zip(ks, times)) / var_k
        if abs(fitted - period) <= 0.1 * period:
            period = fitted
    anchor = mean_t + (ks[-1] - mean_k) * period
    return Pulse(period, anchor)


def rhythm_pattern(
    notes: Sequence[Note], pulse: Pulse, first: int, cycle: int = 2
) -> tuple[list[int], tuple[float, ...]]:
    """The phrase's times between onsets in grid points, and how often it begins a note
    at each place of a `cycle` of grid points against the mean (smoothed; the cycle
    counted from grid point `first`, where an answer starts)."""
    ks = [pulse.index(g[0].start) for g in onset_groups(notes)]
    pattern = [max(b - a, 1) for a, b in zip(ks, ks[1:])]
    if len(ks) < 2:
        return pattern, (1.0,)
    notes_at, points = [0.5] * cycle, [1.0] * cycle
    for k in ks:
        notes_at[(k - first) % cycle] += 1
    for k in range(ks[0], ks[-1] + 1):
        points[(k - first) % cycle] += 1
    rates = [n / p for n, p in zip(notes_at, points)]
    mean = sum(rates) / cycle
    return pattern, tuple(r / mean for r in rates)


def clock_pulse(beat_time: float, beat_s: float, unit_s: float | None) -> Pulse:
    """The grid of a running clock: its beats, divided as the phrase's own pulse
    divides them (an eighth grid for a phrase in eighths), at most in four."""
    divide = 2 if unit_s is None else min(SUBDIVISIONS, key=lambda d: abs(beat_s / d - unit_s))
    return Pulse(beat_s / divide, beat_time)
