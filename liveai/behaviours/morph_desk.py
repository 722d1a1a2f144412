"""The morph desk of a session: slots a and b, their latents, and the decoded points
between them.

A slot is filled by a capture or a MIDI file (`phrases.py`). When a slot changes, one call on the
model worker encodes both slots and decodes `morph.steps` points on the slerp path
from a to b, in one batch; the loop then turns the knob into a lookup. The points
change as little as they can from one to the next, each step within `morph.lean` nats
of the model's best (`MelodyVAE.decode_path`): a turn changes the steps the model
wants changed, and keeps the others. A position between two grid points is decoded on
demand, changing as little as it can from both; until it arrives the nearest grid
point plays. The endpoints are the slots' own phrases, as captured. Everything the
loop reads is on the loop thread; the worker only computes (files are read by phrases.PhraseReader).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..core.context import Context
from ..core.jobs import JobHandle
from ..errors import CommandError
from ..events import StateChanged

if TYPE_CHECKING:  # a server with no morph model starts without torch
    import torch

    from ..models.vae import MelodyVAE

log = logging.getLogger(__name__)

BETWEEN_CACHE = 64  # decoded positions kept besides the grid
PENDING_S = 1.0  # a decode not back by then (failed, or the worker is swamped) is asked again


@dataclass(frozen=True)
class Pattern:
    tokens: tuple[int, ...]  # melody.STEPS tokens
    velocity: int


@dataclass
class _Slot:
    pattern: Pattern
    z: torch.Tensor | None = None  # set by the worker's encoding


@dataclass
class _Pending:
    x: float
    asked: float  # perf_counter when asked
    latest: float | None = None  # the knob's latest position off the grid, asked meanwhile


@dataclass
class Desk:
    """One session's slots and decoded points; it answers through its session's Context."""

    ctx: Context
    vae: MelodyVAE
    slots: dict[str, _Slot] = field(default_factory=dict)
    grid: list[Pattern] = field(default_factory=list)  # morph.steps points, a to b (when both are in)
    between: OrderedDict[float, Pattern] = field(default_factory=OrderedDict)
    version: int = 0  # bumped by every slot change: results of older slots are dropped
    pending: _Pending | None = None
    closed: bool = False  # its session is gone: nothing more is said for it
    # slot -> captures so far (a load asked before one loses)
    captures: dict[str, int] = field(default_factory=dict)
    _grid_job: JobHandle | None = None
    grid_ms: list[float] = field(default_factory=list)  # capture -> grid ready, last few
    decode_ms: list[float] = field(default_factory=list)  # knob -> point decoded, last few

    @property
    def config(self) -> Config:
        return self.ctx.config

    # -- slots ----------------------------------------------------------------------
    def capture(self, slot: str, pattern: Pattern) -> None:
        """A phrase played into a slot: it wins over a file asked for the slot before."""
        self.captures[slot] = self.captures.get(slot, 0) + 1
        self.put(slot, pattern)

    def loaded(self, slot: str, result: Pattern | CommandError, captures: int) -> CommandError | None:
        """A file read off the loop arrived (asked when the slot had had `captures`
        captures): it fills the slot unless a capture came since (the capture wins) or
        the session closed. What to refuse the load with, if anything."""
        if isinstance(result, CommandError):
            return result
        if self.captures.get(slot, 0) != captures:
            return CommandError(
                "busy", f"morph/load: slot {slot} was captured while the file was read; not loaded"
            )
        if not self.closed:
            self.put(slot, result)
        return None

    def put(self, slot: str, pattern: Pattern) -> None:
        """Fill a slot; the grid is decoded again on the worker."""
        self.slots[slot] = _Slot(pattern)
        self.version += 1
        self.grid = []
        self.between.clear()
        self.pending = None
        version, asked = self.version, time.perf_counter()
        phrases = {name: s.pattern.tokens for name, s in self.slots.items()}
        steps, lean = self.config.morph.steps, self.config.morph.lean
        if self._grid_job is not None:
            self._grid_job.cancel()  # a capture button pressed twice decodes once
        self._grid_job = self.ctx.submit(
            lambda: self.vae.encode_and_grid(phrases, steps, lean),
            lambda result: self._grid_ready(version, asked, result),
        )

    def _grid_ready(
        self, version: int, asked: float, result: tuple[dict[str, torch.Tensor], list[list[int]]]
    ) -> None:
        if version != self.version or self.closed:
            return  # a slot changed since (its own grid is on the way), or the session closed
        latents, tokens = result
        for name, z in latents.items():
            self.slots[name].z = z
        a, b = self.slots.get("a"), self.slots.get("b")
        if a is not None and b is not None:
            grid = [Pattern(tuple(t), self._velocity(i / (len(tokens) - 1))) for i, t in enumerate(tokens)]
            grid[0], grid[-1] = a.pattern, b.pattern  # the endpoints are the phrases as played
            self.grid = grid
        _keep(self.grid_ms, (time.perf_counter() - asked) * 1000.0)
        self.ctx.send(StateChanged("morph_ready", "".join(sorted(self.slots)), t=self.ctx.now()))

    # -- the knob -------------------------------------------------------------------
    def pattern_at(self, x: float) -> Pattern | None:
        """What plays at knob position x (0: a, 1: b): a grid point, a decoded point, or
        the nearest grid point while that one is decoded. With one slot, its phrase."""
        a, b = self.slots.get("a"), self.slots.get("b")
        if a is None or b is None:
            only = a or b
            return None if only is None else only.pattern
        if not self.grid:
            return a.pattern if x < 0.5 else b.pattern  # grid on its way: the nearer phrase
        position = x * (len(self.grid) - 1)
        nearest = self.grid[round(position)]
        if abs(position - round(position)) < 1e-3:
            return nearest
        key = round(x, 4)
        cached = self.between.get(key)
        if cached is not None:
            self.between.move_to_end(key)
            return cached
        self._decode_between(key)
        return nearest

    def _decode_between(self, x: float) -> None:
        pending = self.pending
        if pending is not None and (pending.x == x or time.perf_counter() - pending.asked < PENDING_S):
            if pending.x != x:
                pending.latest = x  # one decode at a time: the knob's latest position follows it
            return
        a, b = self.slots["a"].z, self.slots["b"].z
        if a is None or b is None:
            return
        self.pending = _Pending(x, time.perf_counter())
        version, lean = self.version, self.config.morph.lean
        i = min(int(x * (len(self.grid) - 1)), len(self.grid) - 2)  # x rounded up to 1 is still below the end
        # it changes as little as it can from both
        below, above = self.grid[i].tokens, self.grid[i + 1].tokens
        self.ctx.submit(
            lambda: self.vae.decode_points(a, b, [x], below, above, lean)[0],
            lambda tokens: self._between_ready(version, x, tokens),
        )

    def _between_ready(self, version: int, x: float, tokens: list[int]) -> None:
        pending = self.pending
        if version != self.version or pending is None or pending.x != x or self.closed:
            return
        self.pending = None
        ms = (time.perf_counter() - pending.asked) * 1000.0
        _keep(self.decode_ms, ms)
        if ms > self.config.budget.morph_ms:
            self.ctx.miss("morph", f"a point between the grid's decoded in {ms:.1f} ms")
        self.between[x] = Pattern(tuple(tokens), self._velocity(x))
        while len(self.between) > BETWEEN_CACHE:
            self.between.popitem(last=False)
        if pending.latest is not None and pending.latest not in self.between:
            self._decode_between(pending.latest)  # a sweep ends where the knob stopped

    def _velocity(self, x: float) -> int:
        if self.config.morph.velocity > 0:
            return self.config.morph.velocity
        a, b = self.slots["a"].pattern.velocity, self.slots["b"].pattern.velocity
        return max(1, round((1 - x) * a + x * b))


def _keep(values: list[float], value: float, last: int = 32) -> None:
    values.append(value)
    del values[:-last]


def status_of(desks: dict[str, Desk]) -> dict[str, Any]:
    grid = [ms for d in desks.values() for ms in d.grid_ms]
    between = [ms for d in desks.values() for ms in d.decode_ms]
    return {
        "morph_grid_ms_max": round(max(grid), 2) if grid else None,
        "morph_decode_ms_max": round(max(between), 2) if between else None,
    }
