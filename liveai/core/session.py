"""Sessions: one player's mode, behaviour and model state (or everyone's, when shared).

With `server.sessions = "shared"` (the default) all sources play into one session; with
"per_source" every OSC host, web page, MIDI input and explicit session id gets its own, on
one set of weights, and what is nobody's own (MQTT, liveai itself) plays into the shared
one. A session's ears (when a model is loaded) hear every note it gets, whatever the mode.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from typing import Any

from ..config import ServerConfig
from ..errors import CommandError
from ..events import SUSTAIN, ControlChange, NoteOff, NoteOn, Source, player_of
from .behaviour import Behaviours
from .context import Context
from .faults import Faults
from .keys import Key, KeyId
from .recorder import Recorder
from .stats import Stats

log = logging.getLogger(__name__)

SHARED = "main"  # the one session when sessions are shared


class Session:
    """A session's keys (`keys`, the one record of them: its recorder, ears and behaviour
    read it) and sustain pedal are kept here, whatever the mode: a key released
    while the pedal is down reaches the behaviour (and the model) when the pedal lifts,
    so what the behaviour sounds for it (harmony voices) is held as a piano would.

    A panic or a stop halts the session: its mode is stopped (a silent stand-in takes its
    place) until `resume` (play, a mode command) or, for a mode that answers the player
    (thru, harmonize, duet, off), the player's next note or controller.

    Every call into the behaviour is contained (core/faults.py): a behaviour that raises
    is counted and logged, and the session goes on (its keys, its pedal, its ears)."""

    def __init__(
        self,
        key: str,
        ctx: Context,
        mode: str,
        behaviours: Behaviours,
        faults: Faults,
        stopped_by: str | None = None,
    ) -> None:
        self.key = key
        self.ctx = ctx
        self._behaviours = behaviours
        self._faults = faults
        self.ears = behaviours.ears(ctx)
        self.mode = mode
        self.keys = ctx.keys  # what the player holds, the one record of it
        self._pedal: dict[int, set[str]] = {}  # channels whose sustain pedal is down -> by which inputs
        self.recorder = Recorder(self.keys)  # what was played lately (a morph capture's phrase)
        self.stopped_by = stopped_by  # "panic" or "stop" while the mode waits to be resumed
        if stopped_by is None:
            self.behaviour = behaviours.make(mode, ctx, self.ears)
            self._start()
        else:  # opened while a panic holds every session
            self.behaviour = behaviours.stopped(mode, ctx)

    @property
    def held(self) -> dict[KeyId, str]:
        """The keys down (not those the pedal holds) -> by which input."""
        return {k: key.source for k, key in self.keys.down()}

    def note_on(self, event: NoteOn) -> None:
        self._played()
        k = (event.channel, event.pitch)
        before = self.keys.get(k)
        if before is not None and before.up is None:  # struck again while down: the note before ends
            self.recorder.ended(before.note(event.pitch, event.t))
        elif before is not None:  # struck again: the new note replaces the one the pedal held
            del self.keys[k]
        self.keys[k] = key = Key(event.source, event.t, event.velocity)
        self._turn(event, key, self.behaviour.note_on, "note_on")

    def note_off(self, event: NoteOff) -> None:
        k = (event.channel, event.pitch)
        key = self.keys.get(k)
        if key is None or key.up is not None:
            return  # not a key of this session's (or released already)
        self.recorder.ended(key.note(event.pitch, event.t))  # the key's own end, pedal or not
        if event.channel in self._pedal:
            key.up = event
            self.keys[k] = self.keys.pop(k)  # the pedal's keys in the order they were let go
            return
        self._release_key(k, event)

    def _release_key(self, k: KeyId, event: NoteOff) -> None:
        self._turn(event, self.keys.pop(k), self.behaviour.note_off, "note_off")

    def _turn(self, event: NoteOn | NoteOff, key: Key, answer: Callable[[Any], None], what: str) -> None:
        """The ears hear a played note first (the model is up to date when the behaviour
        asks it), then the behaviour answers; what was heard is fed after its turn."""
        with nullcontext() if self.ears is None else self.ears.hearing(event, key):
            try:
                answer(event)
            except Exception as exc:  # contained: the keys, the pedal and the ears go on
                self._faults(f"{self.behaviour.name} {what}", exc)

    def control(self, event: ControlChange) -> None:
        self._played()
        try:
            self.behaviour.control(event)
        except Exception as exc:  # the pedal still goes down or up: the keys it holds end
            self._faults(f"{self.behaviour.name} control", exc)
        if event.pedal is None:
            return
        if event.pedal:
            self._pedal.setdefault(event.channel, set()).add(event.source)
            return
        self._lift(event.channel, event.t)

    def _lift(self, channel: int, t: float) -> None:
        """The pedal of `channel` is up (whoever pressed it): the keys it held end."""
        self._pedal.pop(channel, None)
        for k, off in self.keys.sustained():
            if k[0] == channel:
                self._release_key(k, NoteOff(off.pitch, off.channel, t=t, origin=t, source=off.source))

    def beat(self, n: int, t: float) -> None:
        try:
            self.behaviour.beat(n, t)
        except Exception as exc:  # the other sessions still get the beat
            self._faults(f"{self.behaviour.name} beat", exc)

    def upcoming_beat(self, n: int, t: float) -> None:
        try:
            self.behaviour.upcoming_beat(n, t)
        except Exception as exc:
            self._faults(f"{self.behaviour.name} upcoming_beat", exc)

    def value_changed(self, name: str, value: float) -> None:
        try:
            self.behaviour.value_changed(name, value)
        except Exception as exc:
            self._faults(f"{self.behaviour.name} value_changed", exc)

    def continue_(self, beats: float) -> None:
        self._played()  # asking for an answer is playing
        self.behaviour.continue_(beats)

    @property
    def pedals(self) -> frozenset[int]:
        """Channels whose sustain pedal is down."""
        return frozenset(self._pedal)

    def busy(self, now: float) -> bool:
        """Keys down, notes the pedal holds, or a behaviour that sounds: never evicted."""
        return bool(self.keys) or self.behaviour.busy(now)

    def set_mode(self, mode: str) -> None:
        """The old behaviour releases everything it sounds before the new one starts
        (the same mode starts afresh; a halted session resumes)."""
        self.release()
        self.mode = mode
        self.stopped_by = None
        self.behaviour = self._behaviours.make(mode, self.ctx, self.ears)
        self._start()

    def halt(self, cause: str) -> None:
        """Panic or stop: every generator of the session stops (an autopilot, a duet
        answer, a morph loop, their scheduled parts) and what it sounds ends; the mode
        waits to be resumed. A panic also forgets the model state."""
        self.release()
        if cause == "panic" and self.ears is not None:
            self.ears.reset()
        if self.stopped_by != "panic":  # a stop after a panic leaves it the panic's
            self.stopped_by = cause
        self.behaviour = self._behaviours.stopped(self.mode, self.ctx)

    def resume(self) -> None:
        """Play or a mode command after a halt: the mode starts afresh."""
        if self.stopped_by is None:
            return
        self.stopped_by = None
        self.behaviour = self._behaviours.make(self.mode, self.ctx, self.ears)
        self._start()

    def _played(self) -> None:
        """The player plays: a halted mode that answers them resumes to answer."""
        if self.stopped_by is not None and not self._behaviours.plays_alone(self.mode):
            self.resume()

    def release(self) -> None:
        """Everything this session sounds ends; the keys still down are forgotten (their
        note-offs, when they come, find nothing to end)."""
        now = self.ctx.now()
        for (_, pitch), key in self.keys.down():
            self.recorder.ended(key.note(pitch, now))
        self.keys.clear()
        self._release_behaviour()

    def _start(self) -> None:
        try:
            self.behaviour.start()
        except Exception as exc:
            self._faults(f"{self.behaviour.name} start", exc)

    def _release_behaviour(self) -> None:
        try:
            self.behaviour.release()
        except Exception as exc:  # the other sessions, and the tracker, still end their notes
            self._faults(f"{self.behaviour.name} release", exc)

    def lost(self, source: str, t: float) -> None:
        """An input is gone: its keys come up and its pedal lifts (the synth was told so;
        plugged in again, a keyboard does not say its pedal), so what answers them ends.
        What plays on its own (an autopilot, a morph loop, another player) plays on."""
        who = player_of(source)
        for channel in [c for c, by in self._pedal.items() if any(player_of(s) == who for s in by)]:
            self._pedal[channel] = {s for s in self._pedal[channel] if player_of(s) != who}
            if self._pedal[channel]:
                continue  # another input still holds it down
            try:  # the mode hears the pedal lift (thru echoes it), as if the player let go
                self.behaviour.control(ControlChange(SUSTAIN, 0, channel, t=t, origin=t, source=source))
            except Exception as exc:
                self._faults(f"{self.behaviour.name} control", exc)
            self._lift(channel, t)
        for k in [k for k, by in self.held.items() if player_of(by) == who]:
            self.note_off(NoteOff(k[1], k[0], t=t, origin=t, source=source))
        # held by another input's pedal: it was this one's key
        for k in [k for k, off in self.keys.sustained() if player_of(off.source) == who]:
            self._release_key(k, NoteOff(k[1], k[0], t=t, origin=t, source=source))

    def close(self) -> None:
        """Evicted: release everything, and the registry forgets the session."""
        self.release()
        self._behaviours.close(self.key)


class Sessions:
    """The open sessions, least recently played first. With `server.sessions =
    "per_source"` a player is an OSC host (whatever port each message comes from: oscsend
    opens a new one per call), a web page, a MIDI input, or an explicit session id, and
    the rest (MQTT, liveai itself) shares one session; past
    `max_sessions` the least recently played idle session is closed, and while every
    session is busy a new player is refused."""

    def __init__(
        self,
        config: ServerConfig,
        open_session: Callable[[str], Session],
        stats: Stats,
        now: Callable[[], float],
    ) -> None:
        self.config = config
        self._open = open_session
        self._stats = stats
        self._now = now
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def key(self, source: str) -> str:
        """The session `source` plays into, the one rule for it: with per_source sessions a
        player's own (`Source.personal`), else the shared one (MQTT, liveai itself)."""
        parsed = Source.parse(source)
        if self.config.sessions != "per_source" or not parsed.personal:
            return SHARED
        return parsed.player

    def find(self, source: str = "") -> Session | None:
        return self._sessions.get(self.key(source))

    def get(self, source: str = "") -> Session:
        key = self.key(source)
        session = self._sessions.get(key)
        if session is None:
            if len(self._sessions) >= self.config.max_sessions:
                self._evict_one(key)
            session = self._open(key)
            self._sessions[key] = session
        self._sessions.move_to_end(key)
        return session

    def _evict_one(self, newcomer: str) -> None:
        now = self._now()
        idle = next((k for k, s in self._sessions.items() if not s.busy(now)), None)
        if idle is None:
            self._stats.count("sessions_refused")
            raise CommandError(
                "busy",
                f"all {self.config.max_sessions} sessions are playing "
                f"(server.max_sessions); {newcomer} is refused",
            )
        self._stats.count("sessions_evicted")
        log.info("more than %d sessions: closing the idle session %s", self.config.max_sessions, idle)
        self._sessions.pop(idle).close()

    def __iter__(self) -> Iterator[Session]:
        return iter(list(self._sessions.values()))  # a copy: a behaviour may open a session

    def __len__(self) -> int:
        return len(self._sessions)
