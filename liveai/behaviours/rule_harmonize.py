"""Harmonize by rule: voices at fixed intervals, snapped to the key and scale, kept in
range. It is also the fallback when the model misses its budget."""

from __future__ import annotations

from ..config import HarmonizeConfig
from ..core.context import Context
from ..events import NoteOff, NoteOn
from ..music.scales import fit_range, scale_of
from .base import BaseBehaviour


class RuleHarmonizer(BaseBehaviour):
    """Adds voices at fixed intervals, snapped to the key and scale, kept in range."""

    name = "harmonize"

    def __init__(self, config: HarmonizeConfig) -> None:
        self.config = config
        # (channel, played pitch) -> the harmony pitches sounding for it. Not keyed by
        # sender: a note-off may come from another socket than its note-on (oscsend).
        self._voices: dict[tuple[int, int], list[int]] = {}

    def voices_for(self, pitch: int, key: str | None = None, scale: str | None = None) -> list[int]:
        """The harmony pitches for a played pitch (never the pitch itself, no repeats)."""
        c = self.config
        steps = scale_of(key or c.key, scale or c.scale)
        out: list[int] = []
        for interval in c.intervals:
            if c.interval_unit == "degrees":
                candidate = steps.step(pitch, interval)
            else:
                candidate = steps.snap(min(max(pitch + interval, 0), 127))
            if candidate is None:
                continue
            fitted = fit_range(candidate, c.low, c.high)
            if fitted is not None and fitted != pitch and fitted not in out:
                out.append(fitted)
        return out

    def answer(self, event: NoteOn, pitches: list[int], ctx: Context) -> None:
        """Sound `pitches` with the played note (used by the model harmonizer too)."""
        key = (event.channel, event.pitch)
        self._release_key(key, event.t, ctx)  # a retrigger replaces the old voices
        velocity = max(1, min(127, round(event.velocity * self.config.velocity)))
        self._voices[key] = pitches
        for pitch in pitches:  # held by the played key: another key's voice on this pitch keeps it
            ctx.send(NoteOn(pitch, velocity, event.channel, t=event.t, origin=event.t), owner=(self, key))

    def note_on(self, event: NoteOn, ctx: Context) -> None:
        self.answer(event, self.voices_for(event.pitch, ctx.state.get("key"), ctx.state.get("scale")), ctx)

    def note_off(self, event: NoteOff, ctx: Context) -> None:
        self._release_key((event.channel, event.pitch), event.t, ctx)

    def release(self, ctx: Context) -> None:
        for key in list(self._voices):
            self._release_key(key, None, ctx)

    def busy(self, now: float) -> bool:
        return bool(self._voices)

    def _release_key(self, key: tuple[int, int], origin: float | None, ctx: Context) -> None:
        for pitch in self._voices.pop(key, []):
            ctx.send(NoteOff(pitch, key[0], t=ctx.now(), origin=origin), owner=(self, key))
