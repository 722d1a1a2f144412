"""The engine: routes incoming events to the active behaviour and sends what it answers.

Plain Python, no I/O: time comes from `now()`, outgoing events go to the sinks the
server registers (one per transport), timed events wait in the Scheduler until the
driver calls `run_due()`. Every note leaving here passes the NoteTracker, so stop,
mode change, panic, input loss and shutdown can silence everything that sounds.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from ..config import CC_TARGETS, MODES, Config
from ..errors import CommandError
from ..events import (
    Beat, ClockTick, Command, ControlChange, Event, InputLost, NoteOff, NoteOn,
    ProgramChange, StateChanged, TransportStart, TransportStop,
)
from .behaviours import Behaviour, make_behaviour
from .clock import PPQN, Clock
from .notes import NoteTracker
from .scheduler import Scheduler
from .stats import Stats

log = logging.getLogger(__name__)

Sink = Callable[[Event], None]

# Public state and its range; CC mappings scale 0..127 onto these.
RANGES = {"temperature": (0.05, 2.0), "tempo": (20.0, 300.0), "morph": (0.0, 1.0), "density": (0.0, 1.0)}
# Modes that need a model; they arrive with the model runtime.
MODEL_MODES = ("duet", "autopilot", "morph")


class _InternalTick:
    """Marker queued in the scheduler for the next pulse of the internal clock."""


class Engine:
    def __init__(self, config: Config, now: Callable[[], float]) -> None:
        self.config = config
        self.now = now
        self.clock = Clock(config.clock.bpm, config.clock.source)
        self.scheduler = Scheduler()
        self.tracker = NoteTracker()
        self.stats = Stats(now(), config.status.window_s)
        self.sinks: list[Sink] = []
        # Called with the new earliest time when the scheduler's head changes.
        self.on_reschedule: Callable[[float], None] = lambda at: None
        self.state: dict[str, Any] = {
            "mode": config.server.mode,
            "temperature": config.server.temperature,
            "tempo": config.clock.bpm,
            "morph": 0.0,
            "density": 0.5,
            "playing": False,
        }
        self.behaviour: Behaviour = make_behaviour(config.server.mode, config.harmonize)
        self._cc_map = {int(k): v for k, v in config.midi.cc_map.items()}
        self._program_map = {int(k): v for k, v in config.midi.program_map.items()}
        self._tick_at: float | None = None  # target time of the next internal pulse

    # -- input -----------------------------------------------------------------
    def handle(self, event: Event) -> None:
        """Route one incoming event; client mistakes raise CommandError."""
        self.stats.count("events_in")
        self.stats.event_in(self.now())
        match event:
            case NoteOn(velocity=0):
                self.behaviour.note_off(_as_off(event), self.send)
            case NoteOn():
                self.behaviour.note_on(event, self.send)
            case NoteOff():
                self.behaviour.note_off(event, self.send)
            case ControlChange():
                self.control_change(event)
            case ProgramChange():
                mode = self._program_map.get(event.program)
                if mode is not None:
                    self.set_mode(mode)
            case ClockTick():
                self._midi_tick(event.t)
            case TransportStart(resume=resume):
                self.play(resume=resume, at=event.t)
            case TransportStop():
                self.stop()
            case InputLost():
                log.warning("input lost, releasing its notes: %s", event.source)
                self._release_all(event.t)
            case Command(name=name, args=args):
                self.command(name, *args)
            case _:
                raise CommandError("bad_event", f"cannot handle {type(event).__name__}")

    def control_change(self, event: ControlChange) -> None:
        target = self._cc_map.get(event.controller)
        if target is None:
            self.behaviour.control(event, self.send)
            return
        lo, hi = RANGES[target]
        value = lo + (hi - lo) * event.value / 127.0
        self.command(target, value)

    def command(self, name: str, *args: Any) -> None:
        """Apply a named command (shared by OSC, MQTT and CC mappings)."""
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

    def cmd_play(self) -> None:
        self.play()

    def cmd_stop(self) -> None:
        self.stop()

    def cmd_panic(self) -> None:
        self.panic()

    def cmd_continue(self, beats: float | None = None) -> None:
        raise CommandError("unavailable", "continue needs a model (duet mode), not available yet")

    def cmd_morph_capture(self, slot: str) -> None:
        raise CommandError("unavailable", "morph needs the VAE model, not available yet")

    def cmd_morph_load(self, slot: str, path: str) -> None:
        raise CommandError("unavailable", "morph needs the VAE model, not available yet")

    def set_mode(self, name: str) -> None:
        if name not in MODES:
            raise CommandError("bad_value", f"unknown mode {name!r} (modes: {', '.join(MODES)})")
        if name in MODEL_MODES:
            raise CommandError("unavailable", f"mode {name!r} needs a model, not available yet")
        self._release_all(None)
        self.behaviour = make_behaviour(name, self.config.harmonize)
        self._set_state("mode", name)
        log.info("mode %s", name)

    def play(self, resume: bool = False, at: float | None = None) -> None:
        now = self.now() if at is None else at
        if resume:
            self.clock.resume()
        else:
            self.clock.start()
        self._set_state("playing", True)
        if not self.clock.following(now):
            self.send(TransportStart(resume=resume, t=now))  # followers (MIDI clock out) start too
        if not self.clock.following(now) and self._tick_at is None:
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
        """All notes off everywhere, and drop every queued note."""
        self.scheduler.remove_if(lambda item: isinstance(item, (NoteOn, NoteOff)))
        self._release_all(None)
        for channel in range(16):  # for notes liveai never saw, e.g. a synth's hang
            self.send(ControlChange(123, 0, channel))

    def shutdown(self) -> None:
        self.stop()
        self.panic()

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

    def schedule(self, event: Event) -> None:
        """Send `event` at its time `event.t` (now if that has passed)."""
        if event.t <= self.now():
            self.send(event)
        else:
            self._push(event.t, event)

    def _push(self, at: float, item: Any) -> None:
        if self.scheduler.push(at, item):
            self.on_reschedule(at)

    def run_due(self) -> float | None:
        """Send everything due; return the next target time (None if nothing waits)."""
        for at, item in self.scheduler.pop_due(self.now()):
            if isinstance(item, _InternalTick):
                self._internal_tick(at)
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
            beat = self.clock.advance()
            if beat is not None:
                self.send(Beat(beat, t=at))
        # Next pulse from the previous target, not from now: no drift.
        self._tick_at = at + self.clock.tick_period(at)
        self._push(self._tick_at, _InternalTick())

    def _midi_tick(self, t: float) -> None:
        beat = self.clock.midi_tick(t)
        if beat is not None:
            self.send(Beat(beat, t=t))
        if self.clock.ticks % PPQN == 0:
            bpm = round(self.clock.bpm(t), 2)
            if abs(bpm - self.state["tempo"]) >= 0.5:
                self._set_state("tempo", bpm)

    # -- helpers ---------------------------------------------------------------
    def _release_all(self, origin: float | None) -> None:
        self.behaviour.release(self.send)
        # Whatever still sounds (thru notes, overlapping voices) is silenced here.
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
            "sounding_notes": len(self.tracker.sounding),
            "scheduled": len(self.scheduler),
        }


def _as_off(event: NoteOn) -> NoteOff:
    return NoteOff(event.pitch, event.channel, t=event.t, origin=event.origin, source=event.source)


def _clamp(value: float, lo: float, hi: float) -> float:
    return min(max(float(value), lo), hi)


__all__ = ["Engine", "RANGES", "MODEL_MODES", "CC_TARGETS"]
