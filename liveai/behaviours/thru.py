"""Thru: every note and unmapped CC echoed as it came."""

from __future__ import annotations

from ..core.context import Context
from ..events import ControlChange, NoteOff, NoteOn
from .base import BaseBehaviour


class Thru(BaseBehaviour):
    name = "thru"

    def __init__(self) -> None:
        self._sounding: set[tuple[int, int]] = set()  # (channel, pitch) echoed and not yet off

    def note_on(self, event: NoteOn, ctx: Context) -> None:
        self._sounding.add((event.channel, event.pitch))
        ctx.send(NoteOn(event.pitch, event.velocity, event.channel, t=event.t, origin=event.t))

    def note_off(self, event: NoteOff, ctx: Context) -> None:
        self._sounding.discard((event.channel, event.pitch))
        ctx.send(NoteOff(event.pitch, event.channel, t=event.t, origin=event.t))

    def release(self, ctx: Context) -> None:
        for channel, pitch in sorted(self._sounding):
            ctx.send(NoteOff(pitch, channel, t=ctx.now()))
        self._sounding.clear()

    def control(self, event: ControlChange, ctx: Context) -> None:
        ctx.send(ControlChange(event.controller, event.value, event.channel, t=event.t, origin=event.t))
