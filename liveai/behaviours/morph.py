"""Morph: a two-bar loop in tempo that moves from slot a's phrase to slot b's under a knob.

The loop plays while the transport runs, on the clock's beats (internal, or a DAW's
MIDI clock, whose tempo it follows beat by beat): at each beat its four 16ths are
scheduled from the beat's time, so every note lands on the grid. At each bar line (or
beat, `morph.switch = "beat"`) it asks the session's desk for the pattern at the
knob's position (`/liveai/morph x`, CC 74, MQTT cmd/morph); on the beats between it
asks too, so a position off the grid is decoded by the bar line. A note ends at the next
note or rest; at a pattern change and at the top of every pass a hold does not carry
over, so every note ends within the pass that struck it. Release (mode change, stop,
panic) ends what sounds now and withdraws what is scheduled.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config
from ..core.context import Context
from ..events import NoteOff, NoteOn
from ..models import melody
from .base import BaseBehaviour
from .morph_desk import Desk, Pattern
from .phrases import BEATS_PER_BAR

STEPS_PER_BEAT = melody.STEPS_PER_QUARTER
BEATS_PER_PASS = melody.STEPS // STEPS_PER_BEAT  # 8


@dataclass(eq=False)  # each note is its own owner of what is scheduled for it
class _Sounding:
    pitch: int
    velocity: int
    on: float
    off: float


class Morph(BaseBehaviour):
    name = "morph"

    def __init__(self, config: Config, desk: Desk) -> None:
        self.config = config
        self.desk = desk
        self.channel = config.morph.channel - 1
        self.pattern: Pattern | None = None
        self.open: _Sounding | None = None  # the loop's latest note, until its off
        self.notes: list[_Sounding] = []  # notes struck lately (release ends those still sounding)

    def beat(self, n: int, t: float, ctx: Context) -> None:
        beat_s = 60.0 / ctx.clock.bpm(t)
        step_s = beat_s / STEPS_PER_BEAT
        in_pass = n % BEATS_PER_PASS
        switch_here = self.config.morph.switch == "beat" or n % BEATS_PER_BAR == 0
        x = float(ctx.state["morph"])
        if switch_here or self.pattern is None:
            chosen = self.desk.pattern_at(x, ctx)
            if chosen != self.pattern:
                self._cut_open(t, ctx)  # a new pattern: the old one's note ends here
                self.pattern = chosen
        else:
            self.desk.pattern_at(x, ctx)  # asked now, a point off the grid is decoded by the bar line
        if self.pattern is None:
            return
        tokens = self.pattern.tokens
        for k in range(STEPS_PER_BEAT):
            step = in_pass * STEPS_PER_BEAT + k
            token = tokens[step]
            if token == melody.HOLD and step != 0:
                continue
            at = t + k * step_s
            self._cut_open(at, ctx)  # the top of a pass ends what the last one held
            if token < melody.N_PITCHES:
                length = next((j for j in range(step + 1, melody.STEPS) if tokens[j] != melody.HOLD), melody.STEPS)
                self._strike(token, self.pattern.velocity, at, at + (length - step) * step_s, ctx)
        self.notes = [s for s in self.notes if s.off > t - 4 * beat_s]

    def _strike(self, pitch: int, velocity: int, at: float, off: float, ctx: Context) -> None:
        """Its note-off is scheduled with it (at its next note or rest, within the pass),
        so a clock that stops without a word leaves nothing sounding."""
        note = _Sounding(pitch, velocity, at, off)
        self.open = note
        self.notes.append(note)
        ctx.schedule(NoteOn(pitch, velocity, self.channel, t=at, origin=at), note)
        ctx.schedule(NoteOff(pitch, self.channel, t=off, origin=off), note)

    def _cut_open(self, at: float, ctx: Context) -> None:
        """End the open note at `at` if it would sound longer (a tempo change, a new pattern)."""
        note, self.open = self.open, None
        if note is None or note.off <= at:
            return
        ctx.unschedule(note)
        at = max(at, note.on)  # never an off before its on
        if note.on > ctx.now():
            ctx.schedule(NoteOn(note.pitch, note.velocity, self.channel, t=note.on, origin=note.on), note)
        note.off = at
        ctx.schedule(NoteOff(note.pitch, self.channel, t=at, origin=at), note)

    def busy(self, now: float) -> bool:
        return any(s.off > now for s in self.notes)

    def release(self, ctx: Context) -> None:
        """End what sounds now; what is scheduled never sounds."""
        now = ctx.now()
        for note in self.notes:
            ctx.unschedule(note)
            if note.on <= now < note.off:
                ctx.send(NoteOff(note.pitch, self.channel, t=now), owner=note)
        self.notes.clear()
        self.open = None
        self.pattern = None  # after a stop, play starts with the knob's pattern
