"""Sessions: one player's mode, behaviour and model state (or everyone's, when shared).

With `server.sessions = "shared"` (the default) all sources play into one session; with
"per_source" every OSC client (host:port) and MIDI input gets its own, on one set of
weights. A session's ears (when a model is loaded) hear every note it gets, whatever
the mode.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterator
from typing import Callable

from ..config import ServerConfig
from ..events import ControlChange, NoteOff, NoteOn
from .behaviour import Behaviours
from .context import Context

log = logging.getLogger(__name__)

SHARED = "main"  # the one session when sessions are shared


class Session:
    def __init__(self, key: str, ctx: Context, mode: str, behaviours: Behaviours) -> None:
        self.key = key
        self.ctx = ctx
        self._behaviours = behaviours
        self.ears = behaviours.ears(ctx)
        self.mode = mode
        self.behaviour = behaviours.make(mode, ctx, self.ears)
        self.behaviour.start(ctx)

    def note_on(self, event: NoteOn) -> None:
        if self.ears is None:
            self.behaviour.note_on(event, self.ctx)
            return
        self.ears.hear(event)
        self.behaviour.note_on(event, self.ctx)
        self.ears.flush()

    def note_off(self, event: NoteOff) -> None:
        if self.ears is None:
            self.behaviour.note_off(event, self.ctx)
            return
        self.ears.hear(event)
        self.behaviour.note_off(event, self.ctx)
        self.ears.flush()

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
        self.behaviour = self._behaviours.make(mode, self.ctx, self.ears)
        self.behaviour.start(self.ctx)

    def release(self) -> None:
        self.behaviour.release(self.ctx)
        if self.ears is not None:
            self.ears.flush()

    def restart(self) -> None:
        """After a panic: forget the model state and start the behaviour over."""
        self.behaviour.release(self.ctx)
        if self.ears is not None:
            self.ears.reset()
        self.behaviour = self._behaviours.make(self.mode, self.ctx, self.ears)
        self.behaviour.start(self.ctx)


class Sessions:
    """The open sessions, least recently played first; over `max_sessions` the oldest goes."""

    def __init__(self, config: ServerConfig, open_session: Callable[[str], Session]) -> None:
        self.config = config
        self._open = open_session
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def key(self, source: str) -> str:
        return source if self.config.sessions == "per_source" and source else SHARED

    def get(self, source: str = "") -> Session:
        key = self.key(source)
        session = self._sessions.get(key)
        if session is None:
            if len(self._sessions) >= self.config.max_sessions:
                _, oldest = self._sessions.popitem(last=False)
                log.warning("more than %d sessions: releasing %s", self.config.max_sessions, oldest.key)
                oldest.release()
            session = self._open(key)
            self._sessions[key] = session
        self._sessions.move_to_end(key)
        return session

    def __iter__(self) -> Iterator[Session]:
        return iter(list(self._sessions.values()))  # a copy: a behaviour may open a session

    def __len__(self) -> int:
        return len(self._sessions)
