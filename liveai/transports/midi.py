"""MIDI in and out through mido + python-rtmidi: virtual ports and named devices.

rtmidi calls back on its own thread; messages are stamped with their arrival time there
and handed to the loop through a bounded inbox (drops are counted and logged). Named
ports are matched by substring, polled, closed when they disappear (their held notes
are released) and reopened when they come back. `serve` raises TransportError
when the MIDI system itself goes away; the supervisor opens it again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from typing import Any, Callable

import mido

from ..config import MidiConfig
from ..core.faults import Faults
from ..core.stats import LogThrottle, Stats
from ..errors import CommandError, TransportError
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
from . import midi_backend
from .base import Transport

log = logging.getLogger(__name__)

_INBOX_LIMIT = 4096  # messages waiting for the loop; beyond this they are dropped
# liveai uses none of these: dropped on rtmidi's thread, before they take memory (a sysex
# flood would be bounded by count alone, and one sysex message can be megabytes)
_IGNORED = frozenset({"sysex", "active_sensing", "quarter_frame", "songpos", "song_select", "tune_request",
                      "polytouch", "aftertouch", "pitchwheel"})


def to_event(msg: mido.Message, t: float, source: str, clock_in: bool) -> Event | None:
    """A liveai event for an incoming MIDI message (None: ignored)."""
    match msg.type:
        case "note_on" if msg.velocity > 0:
            return NoteOn(msg.note, msg.velocity, msg.channel, t=t, source=source)
        case "note_on" | "note_off":
            return NoteOff(msg.note, msg.channel, t=t, source=source)
        case "control_change":
            return ControlChange(msg.control, msg.value, msg.channel, t=t, source=source)
        case "program_change":
            return ProgramChange(msg.program, msg.channel, t=t, source=source)
    if not clock_in:
        return None
    match msg.type:
        case "clock":
            return ClockTick(t=t, source=source)
        case "start" | "continue":
            return TransportStart(resume=msg.type == "continue", t=t, source=source)
        case "stop":
            return TransportStop(t=t, source=source)
    return None


def to_message(event: Event, clock_out: bool) -> mido.Message | None:
    """The MIDI message for an outgoing event (None: not sent over MIDI)."""
    match event:
        case NoteOn():
            return mido.Message("note_on", note=event.pitch, velocity=event.velocity, channel=event.channel)
        case NoteOff():
            return mido.Message("note_off", note=event.pitch, velocity=0, channel=event.channel)
        case ControlChange():
            return mido.Message("control_change", control=event.controller, value=event.value,
                                channel=event.channel)
    if not clock_out:
        return None
    match event:
        case ClockTick():
            return mido.Message("clock")
        case TransportStart(resume=resume):
            return mido.Message("continue" if resume else "start")
        case TransportStop():
            return mido.Message("stop")
    return None


class MidiTransport(Transport):
    """MIDI ports of one API: virtual ports and named devices, polled while served."""

    name = "midi"

    def __init__(self, config: MidiConfig, handle: Callable[[Event], None], stats: Stats) -> None:
        super().__init__()
        self.config = config
        self.handle = handle
        self.stats = stats
        self.api: str | None = None
        self.inputs: dict[str, Any] = {}  # port name -> open mido input
        self.outputs: dict[str, Any] = {}
        self._lister: midi_backend.PortLister | None = None
        self._inbox: deque[tuple[float, str, mido.Message]] = deque()
        self._inbox_lock = threading.Lock()
        self._log_drop = LogThrottle(log, "more dropped", level=logging.WARNING)
        self._faults = Faults(stats)
        self._loop: asyncio.AbstractEventLoop | None = None
        own = config.client_name
        self.virtual_names = (f"{own} in", f"{own} out")

    # -- lifecycle ---------------------------------------------------------------------
    async def _open(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.api = midi_backend.choose_api(self.config.api)
        if self.api is None:
            log.info("midi off (midi.api = none)")
            return
        if self.config.virtual:
            try:
                await asyncio.to_thread(self._open_virtual)
            except TransportError:
                await self._release()
                raise
        log.info("midi on %s: %s", self.api, ", ".join(self.inputs) + " / " + ", ".join(self.outputs))

    async def serve(self) -> None:
        if self.api is None:
            await super().serve()  # nothing to do until cancelled
        while True:
            await self.reconcile()
            await asyncio.sleep(self.config.poll_s)

    async def _close(self, lost: bool) -> None:
        held = list(self.inputs) if lost else []
        await self._release()
        for name in held:  # notes held through a vanished MIDI system must stop
            self.handle(InputLost(t=time.monotonic(), source=f"midi:{name}"))

    def _open_virtual(self) -> None:
        assert self.api is not None
        midi = midi_backend.backend(self.api)
        name_in, name_out = self.virtual_names
        midi_backend.check_available(self.api)
        try:
            port_in = midi.open_input(name_in, virtual=True, client_name=self.config.client_name,
                                      callback=self._receiver(f"midi:{name_in}"))
            port_out = midi.open_output(name_out, virtual=True, client_name=self.config.client_name)
        except (OSError, RuntimeError) as exc:  # rtmidi.SystemError is a RuntimeError
            raise TransportError(f"cannot open virtual {self.api} MIDI ports: {exc}") from exc
        self.inputs[name_in] = port_in
        self.outputs[name_out] = port_out

    async def reconcile(self) -> None:
        """Open configured ports that appeared, close those that went away."""
        if not (self.config.inputs or self.config.outputs):
            # Nothing to poll; still notice a MIDI system that died (e.g. JACK stopped).
            if self.api == "jack" and not midi_backend.jack_running():
                raise TransportError("the JACK server went away")
            return
        assert self.api is not None
        if self._lister is None:
            self._lister = await asyncio.to_thread(midi_backend.PortLister, self.api)
        in_names, out_names = await asyncio.to_thread(self._lister.names)
        own = {n for n in in_names + out_names if any(v in n for v in self.virtual_names)}
        await self._reconcile(self.inputs, midi_backend.match(self.config.inputs, in_names, own), True)
        await self._reconcile(self.outputs, midi_backend.match(self.config.outputs, out_names, own), False)

    async def _reconcile(self, ports: dict[str, Any], wanted: dict[str, str], is_input: bool) -> None:
        for name in [n for n in ports if n not in self.virtual_names and n not in wanted]:
            port = ports.pop(name)
            log.warning("midi %s gone: %s", "input" if is_input else "output", name)
            await asyncio.to_thread(port.close)
            if is_input:
                self.handle(InputLost(t=time.monotonic(), source=f"midi:{name}"))
        for name in wanted:
            if name in ports:
                continue
            try:
                ports[name] = await asyncio.to_thread(self._open_named, name, is_input)
            except (OSError, RuntimeError) as exc:
                log.warning("cannot open midi port %s: %s", name, exc)
                continue
            log.info("midi %s connected: %s", "input" if is_input else "output", name)

    def _open_named(self, name: str, is_input: bool) -> Any:
        assert self.api is not None
        midi = midi_backend.backend(self.api)
        if is_input:
            return midi.open_input(name, callback=self._receiver(f"midi:{name}"))
        return midi.open_output(name)

    async def _release(self) -> None:
        ports = list(self.inputs.values()) + list(self.outputs.values())
        self.inputs.clear()
        self.outputs.clear()
        for port in ports:
            await asyncio.to_thread(port.close)
        if self._lister is not None:
            lister, self._lister = self._lister, None
            await asyncio.to_thread(lister.close)

    # -- input (rtmidi's thread -> loop) -------------------------------------------
    def _receiver(self, source: str) -> Callable[[mido.Message], None]:
        def receive(msg: mido.Message) -> None:
            arrival = time.monotonic()
            if msg.type in _IGNORED:
                self.stats.count("midi_ignored")
                return
            with self._inbox_lock:
                if len(self._inbox) >= _INBOX_LIMIT:
                    self.stats.count("dropped")
                    self._log_drop(arrival, "midi: the inbox is full (%d messages); dropped one from %s",
                                   _INBOX_LIMIT, source)
                    return
                was_empty = not self._inbox
                self._inbox.append((arrival, source, msg))
            loop = self._loop
            if was_empty and loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._drain)  # one wake-up drains all that came meanwhile

        return receive

    def _drain(self) -> None:
        while True:
            with self._inbox_lock:
                if not self._inbox:
                    return
                arrival, source, msg = self._inbox.popleft()
            try:
                event = to_event(msg, arrival, source, self.config.clock_in)
                if event is not None:
                    self.handle(event)
            except CommandError as exc:
                self.stats.count("errors")
                log.warning("midi %s from %s: %s", msg.type, source, exc.message)
            except Exception as exc:  # the next message is drained: MIDI input never goes deaf
                self._faults("MIDI input", exc)

    # -- output -------------------------------------------------------------------------
    def _send(self, event: Event) -> None:
        """Engine sink: notes, CCs and (as clock leader) clock go to every output."""
        msg = to_message(event, self.config.clock_out)
        if msg is None:
            return
        for name, port in list(self.outputs.items()):
            try:
                port.send(msg)
            except (OSError, RuntimeError) as exc:
                self.stats.count("send_errors")
                log.warning("midi send to %s failed: %s", name, exc)

    def report(self) -> dict[str, Any]:
        return {
            "midi_api": self.api or "none",
            "midi_inputs": ", ".join(self.inputs),
            "midi_outputs": ", ".join(self.outputs),
        }
