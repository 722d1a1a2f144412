"""A generated part on the clock: tokens in, timed notes scheduled, all taken back on cancel.

Duet answers and the autopilot both sample tokens in chunks on the worker thread; a
Part turns each chunk into note events at `start` + their decoded time and schedules
them, owned, so that `cancel` can withdraw what has not sounded yet and silence what
has. `finish` ends every note still open, at the part's end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..core.context import Context
from ..events import NoteOff, NoteOn
from ..models import codec
from .listener import Listener

LATE_S = 0.05  # a note due more than this long ago is skipped rather than played late
MIN_NOTE_S = 0.02
FORGET_AFTER_S = 1.0


@dataclass
class _Note:
    pitch: int
    on: float
    off: float | None = None


class Part:
    def __init__(
        self,
        ctx: Context,
        listener: Listener,
        start: float,
        channel: int,
        end: float | None = None,
        grid_s: float = 0.0,
        velocity: Callable[[float], int] | None = None,
    ) -> None:
        self.ctx = ctx
        self.listener = listener
        self.start = start
        self.end = end
        self.channel = channel
        self.grid_s = grid_s
        self.velocity = velocity  # the velocity of a note beginning at a time; None: the model's
        self.decoder = codec.StreamingDecoder()
        self.notes: list[_Note] = []  # scheduled notes whose end is not yet behind us
        self._open: dict[int, _Note] = {}
        self.skipped = 0
        self.note_times: list[float] = []  # onsets, for the autopilot's density estimate

    @property
    def time(self) -> float:
        """How far generation has got, on the loop's clock."""
        return self.start + self.decoder.time

    @property
    def done(self) -> bool:
        return self.end is not None and self.time >= self.end

    def _at(self, t_rel: float) -> float:
        if self.grid_s > 0:
            t_rel = round(t_rel / self.grid_s) * self.grid_s
        return self.start + t_rel

    def add(self, tokens: list[int]) -> None:
        now = self.ctx.now()
        for token in tokens:
            if self.done:
                break
            for event in self.decoder.feed(token):
                at = self._at(event.t)
                if event.kind == "on":
                    self._note_on(event.pitch, event.velocity, at, now)
                else:
                    self._note_off(event.pitch, at)
            self.listener.heard_own(token, self.time)
        # Forget finished notes only well after their end, so `cancel` still sees a
        # note-off that is due but not yet sent by the scheduler.
        self.notes = [n for n in self.notes if n.off is None or n.off > now - FORGET_AFTER_S]

    def _note_on(self, pitch: int, velocity: int, at: float, now: float) -> None:
        if at < now - LATE_S:
            self.skipped += 1
            return
        note = _Note(pitch, at)
        self.notes.append(note)
        self._open[pitch] = note
        self.note_times.append(at)
        if self.velocity is not None:
            velocity = self.velocity(at)
        self.ctx.schedule(NoteOn(pitch, max(1, velocity), self.channel, t=at, origin=at), self)

    def _note_off(self, pitch: int, at: float) -> None:
        note = self._open.pop(pitch, None)
        if note is None:
            return  # its note-on was skipped
        note.off = max(at, note.on + (self.grid_s / 2 if self.grid_s else MIN_NOTE_S))
        self.ctx.schedule(NoteOff(pitch, self.channel, t=note.off, origin=note.off), self)

    def finish(self) -> None:
        """End every open note at the part's end (or where generation stopped)."""
        end = self.time if self.end is None else min(self.end, self.time)
        for pitch in list(self._open):
            self._note_off(pitch, end)
        self.listener.end_model_notes()

    def cancel(self) -> None:
        """Withdraw what has not sounded; silence, now, what has."""
        self.ctx.unschedule(self)
        now = self.ctx.now()
        for note in self.notes:
            if note.on <= now:  # it sounded; a note-off for a note already ended is a no-op
                self.ctx.send(NoteOff(note.pitch, self.channel, t=now), owner=self)
        self.notes.clear()
        self._open.clear()
        self.listener.end_model_notes()
