"""A session: one player's mode, behaviour and model state (or everyone's, when shared).

With `server.sessions = "shared"` (the default) all sources play into one session; with
"per_source" every OSC client (host:port) and MIDI input gets its own, on one set of
weights. Every note a session hears is encoded and fed to its model state as it
arrives, whatever the mode, so a model behaviour never re-reads the past when it must
answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..events import ControlChange, NoteOff, NoteOn
from .behaviours import Behaviour
from .context import Context

if TYPE_CHECKING:
    from ..play.listener import Listener

MakeBehaviour = Callable[[str, Context, "Listener | None"], Behaviour]


class Session:
    def __init__(self, key: str, ctx: Context, mode: str, make: MakeBehaviour) -> None:
        self.key = key
        self.ctx = ctx
        self._make = make
        self.listener: Listener | None = None
        if ctx.models is not None:
            from ..play.listener import Listener

            self.listener = Listener(ctx)
        self.mode = mode
        self.behaviour = make(mode, ctx, self.listener)
        self.behaviour.start(ctx)

    def note_on(self, event: NoteOn) -> None:
        if self.listener is None:
            self.behaviour.note_on(event, self.ctx)
            return
        self.listener.hear("on", event.pitch, event.velocity, event.t)
        self.listener.played_note("on", event.pitch, event.velocity, event.t)
        self.behaviour.note_on(event, self.ctx)
        self.listener.flush()

    def note_off(self, event: NoteOff) -> None:
        if self.listener is None:
            self.behaviour.note_off(event, self.ctx)
            return
        self.listener.hear("off", event.pitch, 0, event.t)
        self.listener.played_note("off", event.pitch, 0, event.t)
        self.behaviour.note_off(event, self.ctx)
        self.listener.flush()

    def control(self, event: ControlChange) -> None:
        self.behaviour.control(event, self.ctx)

    def beat(self, n: int, t: float) -> None:
        self.behaviour.beat(n, t, self.ctx)

    def continue_(self, beats: float) -> None:
        self.behaviour.continue_(beats, self.ctx)

    def set_mode(self, mode: str) -> None:
        """The old behaviour releases everything it sounds before the new one starts."""
        self.release()
        self.mode = mode
        self.behaviour = self._make(mode, self.ctx, self.listener)
        self.behaviour.start(self.ctx)

    def release(self) -> None:
        self.behaviour.release(self.ctx)
        if self.listener is not None:
            self.listener.flush()

    def restart(self) -> None:
        """After a panic: forget the model state and start the behaviour over."""
        self.behaviour.release(self.ctx)
        if self.listener is not None:
            self.listener.reset()
        self.behaviour = self._make(self.mode, self.ctx, self.listener)
        self.behaviour.start(self.ctx)
