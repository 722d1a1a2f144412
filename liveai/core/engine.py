"""The engine: routes incoming events to sessions, applies commands, sends what they answer.

Plain Python, no I/O: time comes from `now()`, outgoing events go to the sinks the
server registers (one per transport), timed events and timers wait in the Scheduler
until the driver calls `run_due()`, model jobs go through a ModelPort. Every note
leaving here passes the NoteTracker, so stop, mode change, panic, input loss and
shutdown can silence everything that sounds.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any, Callable

from ..config import CC_TARGETS, KEYS, MODES, SCALES, Config
from ..errors import CommandError
from ..events import (
    Beat, ClockTick, Command, ControlChange, Event, InputLost, NoteOff, NoteOn,
    ProgramChange, StateChanged, TransportStart, TransportStop,
)
from .behaviours import check_mode, make_behaviour
from .clock import PPQN, Clock
from .context import Context, ModelPort, Timer
from .notes import NoteTracker
from .scheduler import Scheduler
from .session import Session
from .stats import Stats

log = logging.getLogger(__name__)

Sink = Callable[[Event], None]

# Public state and its range; CC mappings scale 0..127 onto these.
RANGES = {"temperature": (0.05, 2.0), "tempo": (20.0, 300.0), "morph": (0.0, 1.0), "density": (0.0, 1.0)}
MAIN = "main"  # the one session when sessions are shared
MISS_LOG_INTERVAL_S = 1.0  # under overload a miss per note: logged at most once a second


class _InternalTick:
    """Marker queued in the scheduler for the next pulse of the internal clock."""


class _Owned:
    """A scheduled event its owner (a response, the autopilot) may take back."""

    __slots__ = ("event", "owner")

    def __init__(self, event: Event, owner: object) -> None:
        self.event = event
        self.owner = owner


class Engine:
    def __init__(self, config: Config, now: Callable[[], float], models: ModelPort | None = None) -> None:
        self.config = config
        self.now = now
        self.models = models
        self.clock = Clock(config.clock.bpm, config.clock.source)
        self.scheduler = Scheduler()
        self.tracker = NoteTracker()
        self.stats = Stats(now(), config.status.window_s)
        self.sinks: list[Sink] = []
        # Called with the new earliest time when the scheduler's head changes.
        self.on_reschedule: Callable[[float], None] = lambda at: None
        h = config.harmonize
        self.state: dict[str, Any] = {
            "mode": config.server.mode, "temperature": config.server.temperature, "tempo": config.clock.bpm,
            "morph": 0.0, "density": 0.5, "playing": False, "key": h.key, "scale": h.scale,
            "low": h.low, "high": h.high,
        }
        self.sessions: OrderedDict[str, Session] = OrderedDict()  # least recently played first
        self._cc_map = {int(k): v for k, v in config.midi.cc_map.items()}
        self._program_map = {int(k): v for k, v in config.midi.program_map.items()}
        self._tick_at: float | None = None  # target time of the next internal pulse
        self._misses_unlogged = 0
        self._miss_logged_at = float("-inf")

    def start(self) -> None:
        """Open the shared session now, so a mode that plays on its own (autopilot)
        starts without waiting for a note."""
        if self.config.server.sessions == "shared":
            self.session()

    # -- sessions ----------------------------------------------------------------
    def session_key(self, source: str) -> str:
        return source if self.config.server.sessions == "per_source" and source else MAIN

    def session(self, source: str = "") -> Session:
        key = self.session_key(source)
        session = self.sessions.get(key)
        if session is None:
            if len(self.sessions) >= self.config.server.max_sessions:
                _, oldest = self.sessions.popitem(last=False)
                log.warning("more than %d sessions: releasing %s", self.config.server.max_sessions, oldest.key)
                oldest.release()
            session = Session(key, Context(self, key), self.state["mode"], make_behaviour)
            self.sessions[key] = session
        self.sessions.move_to_end(key)
        return session

    # -- input -----------------------------------------------------------------
    def handle(self, event: Event) -> None:
        """Route one incoming event; client mistakes raise CommandError."""
        self.stats.count("events_in")
        self.stats.event_in(self.now())
        match event:
            case NoteOn(velocity=0):
                self.session(event.source).note_off(_as_off(event))
            case NoteOn():
                self.session(event.source).note_on(event)
            case NoteOff():
                self.session(event.source).note_off(event)
            case ControlChange():
                self.control_change(event)
            case ProgramChange():
                mode = self._program_map.get(event.program)
                if mode is not None:
                    self.set_mode(mode, event.source)
            case ClockTick():
                self._midi_tick(event.t)
            case TransportStart(resume=resume):
                self.play(resume=resume, at=event.t)
            case TransportStop():
                self.stop()
            case InputLost():
                log.warning("input lost, releasing its notes: %s", event.source)
                self.session(event.source).release()
            case Command(name=name, args=args):
                self.command(name, *args)
            case _:
                raise CommandError("bad_event", f"cannot handle {type(event).__name__}")

    def control_change(self, event: ControlChange) -> None:
        target = self._cc_map.get(event.controller)
        if target is None:
            self.session(event.source).control(event)
            return
        lo, hi = RANGES[target]
        self.command(target, lo + (hi - lo) * event.value / 127.0)

    def command(self, name: str, *args: Any) -> None:
        """Apply a named command (shared by OSC, MQTT and CC mappings) to every session."""
        handler = getattr(self, f"cmd_{name.replace('/', '_')}", None)
        if handler is None:
            raise CommandError("unknown_command", f"unknown command {name!r}")
        handler(*args)

    # -- commands --------------------------------------------------------------
    def cmd_mode(self, name: str) -> None:
        self.set_mode(name)

    def cmd_temperature(self, value: float) -> None:
        self._set_state("temperature", _clamp(value, *RANGES["temperature"]))

    def cmd_density(self, value: float) -> None:
        self._set_state("density", _clamp(value, *RANGES["density"]))

    def cmd_tempo(self, bpm: float) -> None:
        if self.clock.following(self.now()):
            raise CommandError("following_clock", "tempo follows incoming MIDI clock")
        self.clock.internal_bpm = _clamp(bpm, *RANGES["tempo"])
        self._set_state("tempo", round(self.clock.internal_bpm, 3))

    def cmd_morph(self, value: float) -> None:
        self._set_state("morph", _clamp(value, *RANGES["morph"]))

    def cmd_key(self, key: str, scale: str | None = None) -> None:
        if key not in KEYS or (scale is not None and scale not in SCALES):
            raise CommandError("bad_value", f"unknown key or scale {key!r} {scale!r}")
        self._set_state("key", key)
        if scale is not None:
            self._set_state("scale", scale)

    def cmd_register(self, low: int, high: int) -> None:
        if not 0 <= low < high <= 127:
            raise CommandError("bad_value", f"register {low}..{high}: need 0 <= low < high <= 127")
        self._set_state("low", int(low))
        self._set_state("high", int(high))

    def cmd_play(self) -> None:
        self.play()

    def cmd_stop(self) -> None:
        self.stop()

    def cmd_panic(self) -> None:
        self.panic()

    def cmd_continue(self, beats: float = 4.0) -> None:
        self.continue_(beats)

    def cmd_morph_capture(self, slot: str) -> None:
        raise CommandError("unavailable", "morph needs the VAE model, not available yet")

    def cmd_morph_load(self, slot: str, path: str) -> None:
        raise CommandError("unavailable", "morph needs the VAE model, not available yet")

    def set_mode(self, name: str, source: str = "") -> None:
        """The mode of the sender's session, or of every session (and new ones) when
        sessions are shared or the command is global (MQTT, CC)."""
        if name not in MODES:
            raise CommandError("bad_value", f"unknown mode {name!r} (modes: {', '.join(MODES)})")
        check_mode(name, self.models is not None)
        key = self.session_key(source)
        if key != MAIN and source.startswith(("osc:", "midi:")):
            self.session(source).set_mode(name)
            log.info("mode %s for %s", name, key)
            return
        for session in list(self.sessions.values()):
            session.set_mode(name)
        self._set_state("mode", name)
        log.info("mode %s", name)

    def continue_(self, beats: float, source: str = "") -> None:
        self.session(source).continue_(beats)

    def play(self, resume: bool = False, at: float | None = None) -> None:
        now = self.now() if at is None else at
        if resume:
            self.clock.resume()
        else:
            self.clock.start()
        self._set_state("playing", True)
        if not self.clock.following(now):
            self.send(TransportStart(resume=resume, t=now))  # followers (MIDI clock out) start too
            if self._tick_at is None:
                self._tick_at = now + self.config.clock.lookahead_ms / 1000.0
                self._push(self._tick_at, _InternalTick())

    def stop(self) -> None:
        if self.clock.playing and not self.clock.following(self.now()):
            self.send(TransportStop(t=self.now()))
        self.clock.stop()
        self._tick_at = None
        self.scheduler.remove_if(lambda item: isinstance(item, _InternalTick))
        self._set_state("playing", False)
        self._release_all(None)

    def panic(self) -> None:
        """All notes off everywhere, every queued note dropped; then every session starts
        afresh (new model state; an autopilot plays on from silence)."""
        self._silence()
        for session in list(self.sessions.values()):
            session.restart()

    def shutdown(self) -> None:
        self.stop()
        self._silence()

    def _silence(self) -> None:
        self.scheduler.remove_if(lambda item: isinstance(item, (NoteOn, NoteOff, _Owned)))
        self._release_all(None)
        for channel in range(16):  # for notes liveai never saw, e.g. a synth's hang
            self.send(ControlChange(123, 0, channel))

    def miss(self, behaviour: str, session: str, what: str) -> None:
        """Count a deadline miss (the fallback played); log it, or how many there were
        since the last line, at most once per MISS_LOG_INTERVAL_S."""
        self.stats.count("deadline_misses")
        self._misses_unlogged += 1
        now = self.now()
        if now - self._miss_logged_at >= MISS_LOG_INTERVAL_S:
            more = f" ({self._misses_unlogged} misses since the last report)" if self._misses_unlogged > 1 else ""
            log.info("deadline miss in %s (%s): %s%s", behaviour, session, what, more)
            self._misses_unlogged, self._miss_logged_at = 0, now

    # -- output ----------------------------------------------------------------
    def send(self, event: Event) -> None:
        """Send one event to every sink now, keeping the note tracker right."""
        match event:
            case NoteOn(velocity=0):
                return self.send(_as_off(event))
            case NoteOn():
                self.tracker.note_on(event.channel, event.pitch)
            case NoteOff():
                if not self.tracker.note_off(event.channel, event.pitch):
                    return
        self._emit(event)

    def _emit(self, event: Event) -> None:
        for sink in self.sinks:
            sink(event)
        # Measured after the sinks ran: arrival to the bytes leaving liveai.
        self.stats.count("events_out")
        self.stats.event_out(self.now(), event.origin)

    def schedule(self, event: Event, owner: object | None = None) -> None:
        """Send `event` at its time `event.t` (now if that has passed)."""
        if event.t <= self.now():
            self.send(event)
        else:
            self._push(event.t, event if owner is None else _Owned(event, owner))

    def unschedule(self, owner: object) -> int:
        return self.scheduler.remove_if(lambda item: isinstance(item, _Owned) and item.owner is owner)

    def call_at(self, at: float, fn: Callable[[], None]) -> Timer:
        timer = Timer(fn)
        self._push(at, timer)
        return timer

    def _push(self, at: float, item: Any) -> None:
        if self.scheduler.push(at, item):
            self.on_reschedule(at)

    def run_due(self) -> float | None:
        """Send everything due, run due timers; return the next target time."""
        for at, item in self.scheduler.pop_due(self.now()):
            if isinstance(item, _InternalTick):
                self._internal_tick(at)
            elif isinstance(item, Timer):
                if not item.cancelled:
                    item.fn()
            elif isinstance(item, _Owned):
                self.send(item.event)
            else:
                self.send(item)
        return self.scheduler.next_time()

    # -- clock -----------------------------------------------------------------
    def _internal_tick(self, at: float) -> None:
        if self._tick_at != at:
            return  # a stale pulse from before a stop/play
        if not self.clock.following(at):
            if self.config.midi.clock_out:
                self.send(ClockTick(t=at))
            self._beat(self.clock.advance(), at)
        # Next pulse from the previous target, not from now: no drift.
        self._tick_at = at + self.clock.tick_period(at)
        self._push(self._tick_at, _InternalTick())

    def _midi_tick(self, t: float) -> None:
        self._beat(self.clock.midi_tick(t), t)
        if self.clock.ticks % PPQN == 0:
            bpm = round(self.clock.bpm(t), 2)
            if abs(bpm - self.state["tempo"]) >= 0.5:
                self._set_state("tempo", bpm)

    def _beat(self, n: int | None, t: float) -> None:
        if n is None:
            return
        self.send(Beat(n, t=t))
        for session in list(self.sessions.values()):
            session.beat(n, t)

    # -- helpers ---------------------------------------------------------------
    def _release_all(self, origin: float | None) -> None:
        for session in list(self.sessions.values()):
            session.release()
        # Whatever still sounds (overlapping voices, scheduled notes already out) stops here.
        for channel, pitch in self.tracker.release_all():
            self._emit(NoteOff(pitch, channel, origin=origin, t=self.now()))

    def _set_state(self, name: str, value: Any) -> None:
        if self.state.get(name) == value:
            return
        self.state[name] = value
        self.send(StateChanged(name, value, t=self.now()))

    def status(self) -> dict[str, Any]:
        now = self.now()
        return {
            **self.stats.snapshot(now),
            "mode": self.state["mode"],
            "tempo": round(self.clock.bpm(now), 3),
            "clock": "midi" if self.clock.following(now) else "internal",
            "playing": self.clock.playing,
            "temperature": self.state["temperature"],
            "density": self.state["density"],
            "key": f"{self.state['key']} {self.state['scale']}",
            "sessions": len(self.sessions),
            "sounding_notes": len(self.tracker.sounding),
            "scheduled": len(self.scheduler),
        }


def _as_off(event: NoteOn) -> NoteOff:
    return NoteOff(event.pitch, event.channel, t=event.t, origin=event.origin, source=event.source)


def _clamp(value: float, lo: float, hi: float) -> float:
    return min(max(float(value), lo), hi)


__all__ = ["Engine", "RANGES", "CC_TARGETS", "MAIN"]
