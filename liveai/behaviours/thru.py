"""Thru: every note and unmapped CC echoed as it came."""

from __future__ import annotations

from ..core.context import Context
from ..events import SUSTAIN, ControlChange, NoteOff, NoteOn
from .base import BaseBehaviour


class Thru(BaseBehaviour):
    name = "thru"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._sounding: set[tuple[int, int]] = set()  # (channel, pitch) echoed and not yet off
        self._pedal: set[int] = set()  # channels whose sustain pedal it echoed down

    def note_on(self, event: NoteOn) -> None:
        key = (event.channel, event.pitch)
        self._sounding.add(key)  # a repeated note-on is a re-strike: one note-off ends it
        # the source says it is the player's own note, echoed
        self.ctx.send(
            NoteOn(
                event.pitch, event.velocity, event.channel, t=event.t, origin=event.t, source=event.source
            ),
            owner=(self, key),
        )

    def note_off(self, event: NoteOff) -> None:
        key = (event.channel, event.pitch)
        self._sounding.discard(key)
        self.ctx.send(
            NoteOff(event.pitch, event.channel, t=event.t, origin=event.t, source=event.source),
            owner=(self, key),
        )

    def release(self) -> None:
        ctx = self.ctx
        for channel in sorted(self._pedal):  # the synth would hold every note on for ever
            ctx.send(ControlChange(SUSTAIN, 0, channel, t=ctx.now()))
        self._pedal.clear()
        for channel, pitch in sorted(self._sounding):
            ctx.send(NoteOff(pitch, channel, t=ctx.now()), owner=(self, (channel, pitch)))
        self._sounding.clear()

    def control(self, event: ControlChange) -> None:
        if event.pedal is not None:
            (self._pedal.add if event.pedal else self._pedal.discard)(event.channel)
        self.ctx.send(
            ControlChange(
                event.controller, event.value, event.channel, t=event.t, origin=event.t, source=event.source
            )
        )

    def busy(self, now: float) -> bool:
        return bool(self._sounding or self._pedal)
