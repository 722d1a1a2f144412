"""The engine: routes incoming events to sessions and applies commands to them.

Plain Python, no I/O: time comes from `now()`; what sessions answer leaves through the
Output (sinks now, or the scheduler for later); the Conductor keeps the transport and
its clock; model jobs go through a ModelPort; the behaviours come from the registry
the server hands in. A note passes once: `handle` -> its session -> the behaviour ->
`Output.send` -> the sinks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..config import Config
from ..config.types import CONTROLS, LEARN_ACTIONS, TRANSPORT_ACTIONS, TRIGGERS
from ..errors import CommandError
from ..events import (
    ClockTick,
    ControlChange,
    Event,
    InputLost,
    NoteOff,
    NoteOn,
    ProgramChange,
    TransportStart,
    TransportStop,
)
from .behaviour import Behaviours
from .conductor import Conductor
from .context import Context
from .faults import Faults
from .jobs import ModelPort
from .learning_protocol import Learning
from .output import Output, Sink, as_off
from .session import SHARED, Session, Sessions
from .state import State
from .stats import LogThrottle, Stats

log = logging.getLogger(__name__)


class Engine:
    def __init__(
        self,
        config: Config,
        now: Callable[[], float],
        behaviours: Behaviours,
        models: ModelPort | None = None,
    ) -> None:
        self.config = config
        self.now = now
        self.behaviours = behaviours
        self.models = models
        self.stats = Stats(now(), config.status.window_s)
        self.faults = Faults(self.stats)  # one bug contained: counted, logged, the next item runs
        self.output = Output(now, self.stats, self.faults)
        h = config.harmonize
        self._state = State(
            {
                "mode": config.server.mode,
                "temperature": config.server.temperature,
                "tempo": config.clock.bpm,
                "morph": 0.0,
                "density": 0.5,
                "playing": False,
                "key": h.key,
                "scale": h.scale,
                "low": h.low,
                "high": h.high,
                "panicked": False,
                "model": "",
            },
            self.output.send,
            now,
        )
        self.learning: Learning | None = None  # the server's, with a continuation model
        self.conductor = Conductor(config, self.output, self._state, self._beat, self._upcoming_beat)
        self.sessions = Sessions(config.server, self._open_session, self.stats, now)
        self._cc_map = {int(k): v for k, v in config.midi.cc_map.items()}
        self._program_map = {int(k): v for k, v in config.midi.program_map.items()}
        self._log_miss = LogThrottle(log, "misses")
        # Who else hears the player's notes and controllers as they arrive (liveai's synth,
        # audio.play = "all").
        self.input_taps: list[Sink] = []
        # Who else falls silent at a panic (the transports' input waiting for later).
        self.on_panic: list[Callable[[], None]] = []

    @property
    def state(self) -> dict[str, Any]:
        return self._state.values

    def start(self) -> None:
        """Open the shared session now, so a mode that plays on its own (autopilot)
        starts without waiting for a note."""
        if self.config.server.sessions == "shared":
            self.sessions.get()

    def _open_session(self, key: str) -> Session:
        ctx = Context(key, self.config, self.output, self.state, self.conductor.clock, self.models, self.miss)
        stopped_by = "panic" if self.state["panicked"] else None  # a newcomer during a panic waits too
        return Session(key, ctx, self.state["mode"], self.behaviours, self.faults, stopped_by)

    # -- input -----------------------------------------------------------------
    def handle(self, event: Event) -> None:
        """Route one incoming event; client mistakes raise CommandError."""
        self.stats.count("events_in")
        self.stats.event_in(self.now())
        if self.input_taps and isinstance(event, (NoteOn, NoteOff, ControlChange)):
            self._tap(event)
        match event:
            case NoteOn(velocity=0):
                self.sessions.get(event.source).note_off(as_off(event))
            case NoteOn():
                self.sessions.get(event.source).note_on(event)
            case NoteOff():
                self.sessions.get(event.source).note_off(event)
            case ControlChange():
                self._control_change(event)
            case ProgramChange():
                mode = self._program_map.get(event.program)
                if mode in TRIGGERS:
                    self._trigger(mode, event.source)
                elif mode is not None:
                    self.set_mode(mode, event.source)
            case ClockTick():
                self.conductor.midi_tick(event.t)
            case TransportStart(resume=resume):
                self.conductor.play(resume, event.t)  # a DAW's Start restarts at its own beat 0
                self._resume()
            case TransportStop():
                self.stop()
            case InputLost():
                log.warning("input lost, its keys and pedal let go: %s", event.source)
                self._tap(ControlChange(123, 0, t=event.t, source=event.source))  # they heard its notes
                session = self.sessions.find(event.source)
                if session is not None:
                    session.lost(event.source, event.t)
            case _:
                raise CommandError("bad_event", f"cannot handle {type(event).__name__}")
        if self.state["panicked"]:
            self._settle_panic()  # the player's note may have resumed their session

    def _tap(self, event: Event) -> None:
        for tap in self.input_taps:
            try:
                tap(event)
            except Exception as exc:  # the session, and the other taps, still hear it
                self.faults("an input tap", exc)

    def _control_change(self, event: ControlChange) -> None:
        target = self._cc_map.get(event.controller)
        if target is None:
            self.sessions.get(event.source).control(event)
            return
        if target in TRIGGERS:
            if event.value >= 64:  # a button pressed (its release sends 0)
                self._trigger(target, event.source)
            return
        span = CONTROLS[target]
        self.set_value(target, span.lo + (span.hi - span.lo) * event.value / 127.0)

    def _trigger(self, action: str, source: str) -> None:
        if action in TRANSPORT_ACTIONS:
            getattr(self, action)()  # panic, play, stop
            return
        if action in LEARN_ACTIONS:
            if self.learning is None:
                raise CommandError("unavailable", "learning needs a continuation model (model.continuation)")
            self.learning.learn()
            return
        session = self.sessions.get(source)
        self.behaviours.trigger(action, session.ctx, session.recorder.notes(self.now()))

    # -- commands (the control table and CC mappings call these) -------------------
    def set_value(self, name: str, value: float) -> None:
        """One of the CONTROLS (temperature, tempo, morph, density), clamped into its range."""
        value = CONTROLS[name].fit(value)
        if name == "tempo":
            self.conductor.set_tempo(value)
        else:
            self._state.set(name, value)
        for session in self.sessions:
            session.value_changed(name, value)

    def set_key(self, key: str, scale: str | None = None) -> None:
        self._state.set("key", key)
        if scale is not None:
            self._state.set("scale", scale)

    def set_state(self, name: str, value: object) -> None:
        """Public state the server keeps (the `model` playing), echoed as it changes."""
        self._state.set(name, value)

    def set_register(self, low: int, high: int) -> None:
        if not 0 <= low < high <= 127:
            raise CommandError("bad_value", f"register {low}..{high}: need 0 <= low < high <= 127")
        self._state.set("low", int(low))
        self._state.set("high", int(high))

    def set_mode(self, name: str, source: str = "") -> None:
        """The mode of the sender's session (a player's own source: an OSC host, a page, a
        MIDI input whose program change is mapped, a session id), or of every session (and
        new ones) when sessions are shared or the sender is nobody's own (MQTT)."""
        key = self.sessions.key(source)
        self.behaviours.check(name, self.models is not None, key)
        if key != SHARED:
            self.sessions.get(source).set_mode(name)
            self._settle_panic()
            log.info("mode %s for %s", name, key)
            return
        for session in self.sessions:
            session.set_mode(name)
        self._state.set("mode", name)
        self._state.set("panicked", False)
        log.info("mode %s", name)

    def continue_(self, beats: float, source: str = "") -> None:
        self.sessions.get(source).continue_(beats)
        self._settle_panic()  # asking a halted duet for an answer resumes it

    def play(self) -> None:
        """Start the transport if it is stopped, and every session's mode that a stop or
        a panic halted. A running transport keeps its beat count: a loop resumed after a
        panic comes back in phase with its bars (and with a DAW's clock it follows)."""
        if not self.conductor.clock.playing:
            self.conductor.play()
        self._resume()

    def _resume(self) -> None:
        for session in self.sessions:
            session.resume()
        self._state.set("panicked", False)

    def stop(self) -> None:
        """Stop the transport and every generator (play resumes them); every note ends."""
        self.conductor.stop()
        for session in self.sessions:
            session.halt("stop")
        self.output.release_tracked()

    def panic(self) -> None:
        """Silence: all notes off everywhere, every queued note (and timetagged message
        still waiting) dropped, and every generator of every session stopped with its
        model state forgotten, until play, a mode command or (for a mode that answers the
        player) the player's next note."""
        for session in self.sessions:
            session.halt("panic")
        for hook in self.on_panic:
            try:
                hook()
            except Exception as exc:  # the panic still silences everything else
                self.faults("a panic hook", exc)
        self._silence()
        self._state.set("panicked", True)
        log.info("panic: every generator stopped until play, a mode or the player's next note")

    def _settle_panic(self) -> None:
        """The panic is over once every session it stopped has resumed on its own (a
        note, a per-session mode)."""
        if len(self.sessions) and not any(s.stopped_by == "panic" for s in self.sessions):
            self._state.set("panicked", False)

    def shutdown(self) -> None:
        self.stop()
        self._silence()

    def miss(self, behaviour: str, session: str, what: str) -> None:
        """Count a deadline miss (the fallback played); logged at most once a second."""
        self.stats.count("deadline_misses")
        self._log_miss(self.now(), "deadline miss in %s (%s): %s", behaviour, session, what)

    # -- helpers ---------------------------------------------------------------
    def run_due(self) -> float | None:
        return self.output.run_due()

    def _beat(self, n: int, t: float) -> None:
        for session in self.sessions:
            session.beat(n, t)

    def _upcoming_beat(self, n: int, t: float) -> None:
        for session in self.sessions:
            session.upcoming_beat(n, t)

    def _silence(self) -> None:
        """After the sessions let go: whatever is queued or still sounds, and every channel."""
        self.output.drop_queued_notes()
        self.output.release_tracked()
        self.output.silence_channels()

    def status(self) -> dict[str, Any]:
        now = self.now()
        clock = self.conductor.clock
        return {
            **self.stats.snapshot(now),
            "mode": self.state["mode"],
            "tempo": round(clock.bpm(now), 3),
            "clock": clock.name(now),
            "playing": clock.playing,
            "temperature": self.state["temperature"],
            "density": self.state["density"],
            "key": f"{self.state['key']} {self.state['scale']}",
            "panicked": self.state["panicked"],
            "model": self.state["model"],
            "sessions": len(self.sessions),
            "sounding_notes": len(self.output.tracker.sounding),
            "scheduled": len(self.output.scheduler),
        }
