"""The morph desk of a session: slots a and b, their latents, and the decoded points
between them.

A slot is filled by a capture (the last two bars the session played, on the clock's
16th grid) or a MIDI file from `morph.folder`. When a slot changes, one call on the
model worker encodes both slots and decodes `morph.steps` points on the slerp path
from a to b, in one batch; the loop then turns the knob into a lookup. A position
between two grid points is decoded on demand; until it arrives the nearest grid point
plays. The endpoints are the slots' own phrases, as played. Everything the loop reads
is on the loop thread; the worker only computes.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..config import Config
from ..core.context import Context
from ..data.midi import read_quarter_notes
from ..errors import CommandError, MidiFileError
from ..events import StateChanged
from ..models import melody
from ..models.vae import MelodyVAE, slerp
from ..music.note import Note

log = logging.getLogger(__name__)

BEATS_PER_BAR = melody.STEPS_PER_BAR // melody.STEPS_PER_QUARTER  # the VAE's bars are 4/4
MIN_NOTES = 2
BETWEEN_CACHE = 64  # decoded positions kept besides the grid


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


@dataclass
class Desk:
    """One session's slots and decoded points."""

    config: Config
    vae: MelodyVAE
    slots: dict[str, _Slot] = field(default_factory=dict)
    grid: list[Pattern] = field(default_factory=list)  # morph.steps points, a to b (when both are in)
    between: OrderedDict[float, Pattern] = field(default_factory=OrderedDict)
    version: int = 0  # bumped by every slot change: results of older slots are dropped
    pending: _Pending | None = None
    grid_ms: list[float] = field(default_factory=list)  # capture -> grid ready, last few
    decode_ms: list[float] = field(default_factory=list)  # knob -> point decoded, last few

    # -- slots ----------------------------------------------------------------------
    def put(self, slot: str, pattern: Pattern, ctx: Context) -> None:
        """Fill a slot; the grid is decoded again on the worker."""
        self.slots[slot] = _Slot(pattern)
        self.version += 1
        self.grid = []
        self.between.clear()
        self.pending = None
        version, asked = self.version, time.perf_counter()
        phrases = {name: s.pattern.tokens for name, s in self.slots.items()}
        steps = self.config.morph.steps
        ctx.submit(lambda: _encode_and_grid(self.vae, phrases, steps),
                   lambda result: self._grid_ready(version, asked, result, ctx))

    def _grid_ready(self, version: int, asked: float, result: tuple[dict[str, torch.Tensor], list[list[int]]],
                    ctx: Context) -> None:
        if version != self.version:
            return  # a slot changed since: its own grid is on the way
        latents, tokens = result
        for name, z in latents.items():
            self.slots[name].z = z
        a, b = self.slots.get("a"), self.slots.get("b")
        if a is not None and b is not None:
            grid = [Pattern(tuple(t), self._velocity(i / (len(tokens) - 1))) for i, t in enumerate(tokens)]
            grid[0], grid[-1] = a.pattern, b.pattern  # the endpoints are the phrases as played
            self.grid = grid
        _keep(self.grid_ms, (time.perf_counter() - asked) * 1000.0)
        ctx.send(StateChanged("morph_ready", "".join(sorted(self.slots)), t=ctx.now()))

    # -- the knob -------------------------------------------------------------------
    def pattern_at(self, x: float, ctx: Context) -> Pattern | None:
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
        self._decode_between(key, ctx)
        return nearest

    def _decode_between(self, x: float, ctx: Context) -> None:
        if self.pending is not None and self.pending.x == x:
            return
        a, b = self.slots["a"].z, self.slots["b"].z
        if a is None or b is None:
            return
        self.pending = _Pending(x, time.perf_counter())
        version = self.version
        ctx.submit(lambda: _decode_points(self.vae, a, b, [x])[0],
                   lambda tokens: self._between_ready(version, x, tokens, ctx))

    def _between_ready(self, version: int, x: float, tokens: list[int], ctx: Context) -> None:
        pending = self.pending
        if version != self.version or pending is None or pending.x != x:
            return
        self.pending = None
        ms = (time.perf_counter() - pending.asked) * 1000.0
        _keep(self.decode_ms, ms)
        if ms > self.config.budget.morph_ms:
            ctx.miss("morph", f"a point between the grid's decoded in {ms:.1f} ms")
        self.between[x] = Pattern(tuple(tokens), self._velocity(x))
        while len(self.between) > BETWEEN_CACHE:
            self.between.popitem(last=False)

    def _velocity(self, x: float) -> int:
        if self.config.morph.velocity > 0:
            return self.config.morph.velocity
        a, b = self.slots["a"].pattern.velocity, self.slots["b"].pattern.velocity
        return max(1, round((1 - x) * a + x * b))


def _keep(values: list[float], value: float, last: int = 32) -> None:
    values.append(value)
    del values[:-last]


# -- on the worker thread ------------------------------------------------------------
def _encode_and_grid(vae: MelodyVAE, phrases: dict[str, Sequence[int]], steps: int
                     ) -> tuple[dict[str, torch.Tensor], list[list[int]]]:
    with torch.inference_mode():
        names = sorted(phrases)
        device = next(vae.parameters()).device
        mu, _ = vae.encode(torch.tensor([list(phrases[n]) for n in names], dtype=torch.long, device=device))
        latents = {n: mu[i] for i, n in enumerate(names)}
        if len(names) < 2:
            return latents, []
        return latents, _decode_points(vae, latents["a"], latents["b"], torch.linspace(0, 1, steps).tolist())


def _decode_points(vae: MelodyVAE, za: torch.Tensor, zb: torch.Tensor, xs: list[float]) -> list[list[int]]:
    with torch.inference_mode():
        z = slerp(za, zb, torch.tensor(xs, device=za.device))
        return vae.decode(z).tolist()  # the one host sync: the decoded melodies


# -- filling slots ------------------------------------------------------------------
def captured(notes: Sequence[Note], now: float, beat_s: float, last_beat: tuple[int, float] | None) -> Pattern:
    """The last two bars of `notes` on the 16th grid. While the clock runs its bar lines
    cut the phrase (the two bars that end with the bar of the last onset); when it is
    stopped the phrase starts on the first note of the last two bars' worth of playing."""
    step_s = beat_s / melody.STEPS_PER_QUARTER
    bars_s = melody.STEPS * step_s
    if not notes:
        raise CommandError("bad_value", "nothing to capture: no notes played in the last minute")
    if last_beat is not None:
        n, t = last_beat
        bar_line = t - (n % BEATS_PER_BAR) * beat_s
        last_onset = max(round((note.start - bar_line) / step_s) for note in notes)
        end_bar = last_onset // melody.STEPS_PER_BAR + 1
        origin = bar_line + (end_bar - 2) * melody.STEPS_PER_BAR * step_s
    else:
        last = max(note.start for note in notes)
        origin = min(note.start for note in notes if note.start > last - bars_s + step_s / 2)
    inside = [note for note in notes if origin - step_s / 2 <= note.start < origin + bars_s - step_s / 2]
    tokens = melody.from_notes(inside, origin, step_s)
    if melody.note_count(tokens) < MIN_NOTES:
        raise CommandError("bad_value", f"a capture needs at least {MIN_NOTES} notes in the last two bars "
                                        f"(found {melody.note_count(tokens)})")
    return Pattern(tuple(tokens), round(sum(n.velocity for n in inside) / len(inside)))


def confined(folder: Path, name: str) -> Path:
    """`name` inside `folder` (relative, or absolute within it); `..`, other absolute
    paths and symlinks that lead out are refused."""
    root = folder.resolve()
    candidate = (root / name).resolve()  # follows symlinks: one out of the folder lands outside
    if not candidate.is_relative_to(root) or candidate == root:
        raise CommandError("bad_path", f"morph/load reads files inside {folder} only, not {name!r}")
    return candidate


def loaded(folder: Path, name: str) -> Pattern:
    """The first two bars of a MIDI file in `folder` (its top voice, on its own beats)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = confined(folder, name)
    if not path.is_file():
        raise CommandError("bad_path", f"no file {name!r} in {folder}")
    try:
        rows = read_quarter_notes(path)
    except MidiFileError as exc:
        raise CommandError("bad_file", str(exc)) from None
    if not rows:
        raise CommandError("bad_file", f"{name}: no notes")
    start = min(r[0] for r in rows)
    onsets = [round((r[0] - start) * melody.STEPS_PER_QUARTER) for r in rows]
    ends = [round((r[1] - start) * melody.STEPS_PER_QUARTER) for r in rows]
    tokens = melody.top_voice(onsets, ends, [r[2] for r in rows])
    if melody.note_count(tokens) < MIN_NOTES:
        raise CommandError("bad_value", f"{name}: fewer than {MIN_NOTES} notes in its first two bars")
    velocities = [r[3] for r, on in zip(rows, onsets) if on < melody.STEPS]
    return Pattern(tuple(tokens), round(sum(velocities) / len(velocities)))


def status_of(desks: dict[str, Desk]) -> dict[str, Any]:
    grid = [ms for d in desks.values() for ms in d.grid_ms]
    between = [ms for d in desks.values() for ms in d.decode_ms]
    return {"morph_grid_ms_max": round(max(grid), 2) if grid else None,
            "morph_decode_ms_max": round(max(between), 2) if between else None}
