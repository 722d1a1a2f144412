"""Keeping an answer's onsets on a grid, by masking what the model may sample next.

Notes may begin only on a grid point; a time shift may stop short of the next grid
point (a note-off between them: staccato stays possible) or land exactly on one, never
step over one into the gap beyond. So the model hears its own onsets where they will
sound: no quantising after the fact, which would bunch notes drawn close together into
chords. Apart from the grid, no onset follows the last one sooner than `min_gap`
steps, and no more than `together` begin at once: a melody answers a melody.

With a `pattern` (the call's times between onsets, in grid points) every grid point is
a choice between a note and a wait, leaned towards the call's own odds: the hazard of
its pattern (of the gaps at least this long, the share that end here), against the
model's odds of a note here, moved `pull` of the way in log odds. `places` weighs
those odds by where in a cycle of grid points the call played (its eighths on the
beat, its sixteenths after a dotted eighth).

`Rhythm` is touched only on the model worker thread (by the jobs of one answer).
"""

from __future__ import annotations

import math

import torch

from . import codec

_ONSET = slice(codec.NOTE_ON_OFFSET, codec.NOTE_OFF_OFFSET)
_VELOCITY = slice(codec.VELOCITY_OFFSET, codec.START)
_WAIT = slice(codec.TIME_SHIFT_OFFSET, codec.VELOCITY_OFFSET)
SMOOTH = 0.25  # pseudo-count per gap length: a gap the call never played stays possible


class Rhythm:
    """Where an answer's onsets may fall, counted in time steps from its first one."""

    def __init__(
        self,
        period_steps: float | None,
        min_gap_steps: int = 0,
        together: int = 128,
        pattern: list[int] | None = None,
        pull: float = 0.0,
        places: tuple[float, ...] = (1.0,),
    ) -> None:
        if period_steps is not None and period_steps < 1.0:
            raise ValueError(f"a grid period of {period_steps} steps is under one step")
        self.period = period_steps
        self.min_gap = min_gap_steps
        self.together = together
        self.pull = pull if pattern and period_steps is not None else 0.0
        self.hazard = _hazard(pattern or [])
        self.places = places  # odds factor of a note per grid point, in a cycle from the first
        self.position = 0  # steps sampled so far
        self.last_onset: int | None = None
        self.onsets_here = 0  # notes begun at `last_onset`

    def point(self, k: int) -> int:
        assert self.period is not None
        return round(k * self.period)

    def on_grid(self, position: int) -> bool:
        if self.period is None:
            return True
        k = math.floor(position / self.period)
        return position in (self.point(k), self.point(k + 1))

    def next_point(self, position: int) -> int:
        """The first grid point after `position`."""
        assert self.period is not None
        k = math.floor(position / self.period)
        while self.point(k) <= position:
            k += 1
        return self.point(k)

    def mask(self, allowed: torch.Tensor) -> torch.Tensor:
        """`allowed` (V,) bool, narrowed in place to what keeps the grid and the gap."""
        pos = self.position
        early = self.last_onset is not None and 0 < pos - self.last_onset < self.min_gap
        crowded = self.last_onset == pos and self.onsets_here >= self.together
        if early or crowded or not self.on_grid(pos):
            allowed[codec.NOTE_ON_OFFSET : codec.NOTE_OFF_OFFSET] = False
            # a velocity only ever precedes a note-on: a model that wants a note here
            # would otherwise say velocities for ever instead of waiting for the grid
            allowed[codec.VELOCITY_OFFSET : codec.START] = False
        if self.period is not None:
            nxt = self.next_point(pos)
            reach = pos + codec.N_TIME_SHIFTS
            if self.pull:  # every grid point a choice: no shift steps over one
                reach = min(reach, nxt)
            lands = torch.zeros(codec.N_TIME_SHIFTS, dtype=torch.bool)
            lands[: nxt - pos - 1] = True  # short of the next grid point
            # the grid points within reach, in integers as point() has them (a float
            # tensor's rounding would disagree with it near halves)
            k = math.floor(pos / self.period) + 1
            while (p := self.point(k)) <= reach:
                if p > pos:
                    lands[p - pos - 1] = True
                k += 1
            allowed[codec.TIME_SHIFT_OFFSET : codec.VELOCITY_OFFSET] &= lands
        return allowed

    def lean(self, logits: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        """`logits` (V,) with a note here made as likely as the call's pattern says (by `pull`);
        `allowed` on the logits' device (moved once per token by the job, for the sampling too)."""
        if not self.pull or self.last_onset is None or not self.on_grid(self.position):
            return logits
        units = round((self.position - self.last_onset) / self.period)  # type: ignore[operator]
        if units < 1:
            return logits
        target = self.hazard[min(units, len(self.hazard) - 1)]
        place = self.places[round(self.position / self.period) % len(self.places)]  # type: ignore[operator]
        target = min(max(target * place / (1.0 - target + target * place), 0.02), 0.98)
        # on the logits' device, with no host sync: a model on a GPU stays there
        probs = torch.softmax(logits.masked_fill(~allowed, float("-inf")), dim=-1)
        note = probs[_ONSET].sum() + probs[_VELOCITY].sum()
        wait = probs[_WAIT].sum()
        offset = self.pull * (math.log(target / (1.0 - target)) - (torch.log(note) - torch.log(wait)))
        offset = torch.nan_to_num(offset, nan=0.0, posinf=0.0, neginf=0.0)  # no note or no wait possible
        logits = logits.clone()
        logits[_ONSET] += offset
        logits[_VELOCITY] += offset
        return logits

    def observe(self, token: int) -> None:
        if codec.is_time_shift(token):
            self.position += codec.time_shift_steps(token)
        elif codec.is_note_on(token):
            self.onsets_here = self.onsets_here + 1 if self.last_onset == self.position else 1
            self.last_onset = self.position


def _hazard(pattern: list[int]) -> list[float]:
    """hazard[j]: of the gaps at least j grid points long, the share exactly j long
    (smoothed; the last entry stands for every longer gap)."""
    longest = max(pattern, default=0) + 1
    counts = [SMOOTH] * (longest + 1)
    for j in pattern:
        counts[j] += 1.0
    out = [0.5] * (longest + 1)
    for j in range(1, longest + 1):
        out[j] = min(max(counts[j] / sum(counts[j:]), 0.02), 0.98)
    out[longest] = 0.98  # longer than anything the call played: play
    return out
