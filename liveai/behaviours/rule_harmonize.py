"""Harmonize by rule: voices at fixed intervals, snapped to the key and scale, kept in
range. It is also the fallback when the model misses its budget."""

from __future__ import annotations

from ..config import HarmonizeConfig
from ..core.context import Context
from ..events import NoteOff, NoteOn
from ..music.scales import fit_range, scale_of
from .base import BaseBehaviour


def voices_for(
    config: HarmonizeConfig, pitch: int, key: str | None = None, scale: str | None = None
) -> list[int]:
    """The rule's harmony pitches for a played pitch (never the pitch itself, no repeats),
    in `key` and `scale` (default: the configured ones)."""
    c = config
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


class RuleHarmonizer(BaseBehaviour):
    """Adds voices at fixed intervals, snapped to the key and scale, kept in range."""

    name = "harmonize"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.config = ctx.config.harmonize
        # (channel, played pitch) -> the harmony pitches sounding for it. Not keyed by
        # sender: a note-off may come from another socket than its note-on (oscsend).
        self._voices: dict[tuple[int, int], list[int]] = {}

    def answer(self, event: NoteOn, pitches: list[int]) -> None:
        """Sound `pitches` with the played note (used by the model harmonizer too)."""
        key = (event.channel, event.pitch)
        self._release_key(key, event.t)  # a retrigger replaces the old voices
        velocity = max(1, min(127, round(event.velocity * self.config.velocity)))
        self._voices[key] = pitches
        send = self.ctx.send
        for pitch in pitches:  # held by the played key: another key's voice on this pitch keeps it
            send(NoteOn(pitch, velocity, event.channel, t=event.t, origin=event.t), owner=(self, key))

    def note_on(self, event: NoteOn) -> None:
        state = self.ctx.state
        self.answer(event, voices_for(self.config, event.pitch, state.get("key"), state.get("scale")))

    def note_off(self, event: NoteOff) -> None:
        self._release_key((event.channel, event.pitch), event.t)

    def release(self) -> None:
        for key in list(self._voices):
            self._release_key(key, None)

    def busy(self, now: float) -> bool:
        return bool(self._voices)

    def _release_key(self, key: tuple[int, int], origin: float | None) -> None:
        voices = self._voices.pop(key, None)
        if not voices:
            return  # a new key (every note-on asks first)
        ctx = self.ctx
        for pitch in voices:
            ctx.send(NoteOff(pitch, key[0], t=ctx.now(), origin=origin), owner=(self, key))
