"""Morph: a two-bar loop in tempo that moves from slot a's phrase to slot b's under a knob.

The loop plays while the transport runs, on the clock's beats (internal, or a DAW's
MIDI clock, whose tempo it follows beat by beat). Each beat is planned when the clock
announces it, a pulse (or `clock.lookahead_ms`) ahead: its four 16ths are scheduled
from the beat's predicted time, so every note lands on the grid and is on its timer
before it is due. A beat that comes more than 2 ms off its prediction (the tempo
changed since) has its notes not yet sounded planned again from its real time. At each bar line (or
beat, `morph.switch = "beat"`) it asks the session's desk for the pattern at the
knob's position (`/liveai/morph x`, CC 74, MQTT cmd/morph); as the knob turns, and on
the beats between, it asks too, so a position off the grid is decoded by the bar line. A note ends at the next
note or rest; at a pattern change and at the top of every pass a hold does not carry
over, so every note ends within the pass that struck it. Release (mode change, stop,
panic) ends what sounds now and withdraws what is scheduled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.context import Context
from ..events import NoteOff, NoteOn
from ..models import melody
from .base import BaseBehaviour
from .morph_desk import Desk, Pattern
from .phrases import BEATS_PER_BAR

STEPS_PER_BEAT = melody.STEPS_PER_QUARTER
BEATS_PER_PASS = melody.STEPS // STEPS_PER_BEAT  # 8
# A beat this far from the time it was announced for was mispredicted (the tempo changed
# since): its notes that have not sounded are planned again from its real time.
_REPLAN_S = 0.002


PLANNED, SOUNDING, ENDED = "planned", "sounding", "ended"  # where a note of the loop is


@dataclass(eq=False)  # each note is its own owner of what is scheduled for it
class _Sounding:
    pitch: int
    velocity: int
    on: float
    off: float

    def withdraw(self, ctx: Context) -> str:
        """Take back what of the note is still queued, and say where it was: PLANNED (its
        on was still queued: it never sounded), SOUNDING (its on went out, its off was
        queued) or ENDED (nothing was queued)."""
        taken = ctx.unschedule(self)
        if any(isinstance(event, NoteOn) for event in taken):
            return PLANNED
        return SOUNDING if taken else ENDED


@dataclass(eq=False)
class _Plan:
    """One beat's notes as planned: when, and which of its steps struck what."""

    n: int
    t: float
    run: int  # the transport's start it belongs to (Clock.starts)
    before: _Sounding | None  # the note open when the beat was planned
    notes: dict[int, _Sounding] = field(default_factory=dict)  # step -> its note
    struck: frozenset[int] = frozenset()  # steps that sounded before a re-plan
    begun: bool = False  # the beat came


class Morph(BaseBehaviour):
    name = "morph"

    def __init__(self, ctx: Context, desk: Desk) -> None:
        super().__init__(ctx)
        self.config = ctx.config
        self.desk = desk
        self.channel = self.config.morph.channel - 1
        self.pattern: Pattern | None = None
        self.open: _Sounding | None = None  # the loop's latest note, until its off
        self.notes: list[_Sounding] = []  # notes struck lately (release ends those still sounding)
        self.plan: _Plan | None = None  # the latest beat planned

    def upcoming_beat(self, n: int, t: float) -> None:
        self._plan_for(n, t)

    def beat(self, n: int, t: float) -> None:
        self._plan_for(n, t)
        assert self.plan is not None
        self.plan.begun = True

    def value_changed(self, name: str, value: float) -> None:
        if name == "morph":
            self.desk.pattern_at(value)  # a point off the grid starts decoding as the knob turns

    def _plan_for(self, n: int, t: float) -> None:
        """Beat `n` is due at `t` (announced ahead, announced again after a tempo change,
        or begun). Planned once; planned again from `t` when that is more than 2 ms from
        the plan (the tempo changed, the MIDI clock's beat came off its prediction)."""
        plan = self.plan
        if plan is not None and plan.run != self.ctx.clock.starts:
            # the transport started again: what is still queued of that run never sounds
            self._withdraw(plan)
            self.plan = plan = None
        elif plan is not None and plan.n != n and not plan.begun:
            self._withdraw(plan)  # a beat announced that never came
        if plan is None or plan.n != n:
            self._plan_beat(n, t)
        elif abs(plan.t - t) > _REPLAN_S:
            self._withdraw(plan)
            self._plan_beat(n, t, done=plan.struck)

    def _plan_beat(self, n: int, t: float, done: frozenset[int] = frozenset()) -> None:
        """Choose the pattern (at bar lines, or beats) and schedule the beat's four 16ths
        from `t`; the steps in `done` already sounded."""
        ctx = self.ctx
        self.plan = plan = _Plan(n, t, ctx.clock.starts, self.open, struck=done)
        beat_s = 60.0 / ctx.clock.bpm(t)
        step_s = beat_s / STEPS_PER_BEAT
        in_pass = n % BEATS_PER_PASS
        switch_here = self.config.morph.switch == "beat" or n % BEATS_PER_BAR == 0
        x = float(ctx.state["morph"])
        if switch_here or self.pattern is None:
            chosen = self.desk.pattern_at(x)
            if chosen != self.pattern:
                self._cut_open(t)  # a new pattern: the old one's note ends here
                self.pattern = chosen
        else:
            self.desk.pattern_at(x)  # asked now, a point off the grid is decoded by the bar line
        if self.pattern is None:
            return
        tokens = self.pattern.tokens
        for k in range(STEPS_PER_BEAT):
            step = in_pass * STEPS_PER_BEAT + k
            token = tokens[step]
            if step in done or (token == melody.HOLD and step != 0):
                continue
            at = t + k * step_s
            self._cut_open(at)  # the top of a pass ends what the last one held
            if token < melody.N_PITCHES:
                length = next(
                    (j for j in range(step + 1, melody.STEPS) if tokens[j] != melody.HOLD), melody.STEPS
                )
                plan.notes[step] = self._strike(
                    token, self.pattern.velocity, at, at + (length - step) * step_s
                )
        self.notes = [s for s in self.notes if s.off > t - 4 * beat_s]

    def _withdraw(self, plan: _Plan) -> None:
        """Take back the planned notes that have not sounded yet; the open note is again
        the last that did (or the one before the plan)."""
        ctx = self.ctx
        self.open = plan.before
        for step, note in sorted(plan.notes.items()):
            where = note.withdraw(ctx)
            if where is PLANNED:
                self.notes.remove(note)
                continue
            if where is SOUNDING:  # it sounds on to its off
                ctx.schedule(NoteOff(note.pitch, self.channel, t=note.off, origin=note.off), note)
            plan.struck = plan.struck | {step}
            self.open = note

    def _strike(self, pitch: int, velocity: int, at: float, off: float) -> _Sounding:
        """Its note-off is scheduled with it (at its next note or rest, within the pass),
        so a clock that stops without a word leaves nothing sounding."""
        note = _Sounding(pitch, velocity, at, off)
        self.open = note
        self.notes.append(note)
        self.ctx.schedule(NoteOn(pitch, velocity, self.channel, t=at, origin=at), note)
        self.ctx.schedule(NoteOff(pitch, self.channel, t=off, origin=off), note)
        return note

    def _cut_open(self, at: float) -> None:
        """End the open note at `at` if it would sound longer (a tempo change, a new pattern)."""
        note, self.open = self.open, None
        if note is None or note.off <= at:
            return
        ctx = self.ctx
        where = note.withdraw(ctx)
        if where is PLANNED and note.on >= at:  # it had not begun and would not sound: no blip
            self.notes.remove(note)
            return
        at = max(at, note.on)  # never an off before its on
        if where is PLANNED:  # its on had not gone out (a timer may run late): it still goes
            ctx.schedule(NoteOn(note.pitch, note.velocity, self.channel, t=note.on, origin=note.on), note)
        note.off = at
        ctx.schedule(NoteOff(note.pitch, self.channel, t=at, origin=at), note)

    def busy(self, now: float) -> bool:
        return any(s.off > now for s in self.notes)

    def release(self) -> None:
        """End what sounds now; what is scheduled never sounds."""
        ctx = self.ctx
        now = ctx.now()
        for note in self.notes:
            ctx.unschedule(note)
            if note.on <= now < note.off:
                ctx.send(NoteOff(note.pitch, self.channel, t=now), owner=note)
        self.notes.clear()
        self.open = None
        self.plan = None
        self.pattern = None  # after a stop, play starts with the knob's pattern
