"""MIDI in and out: virtual ports and named devices, through a process of liveai's own.

python-rtmidi runs in liveai's MIDI process (`midi_process`): it holds the interpreter
in every call into the MIDI system, and some calls block (1 s each to close a port of a
JACK server that died), so none is made here. liveai writes each outgoing message to the
process's pipe, never waiting, and reads what it hears, stamped with its arrival time,
on the loop. The process polls named ports (matched by substring) and says which it
opened and which went away (their held notes are released). `serve` raises
TransportError when the MIDI system goes away, the process ends, or it says nothing
for HUNG_S (stuck in a MIDI call: its heartbeat stopped); the supervisor starts another.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

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
from .midi_child import MidiChild
from .midi_wire import HUNG_S, IN, SAY, latency_group, out_frame, out_to_frame, parse_in, parse_say

log = logging.getLogger(__name__)

READY_S = 10.0  # the MIDI process has this long to open its ports and say so


CHANNEL_LENGTHS = {0x80: 3, 0x90: 3, 0xB0: 3, 0xC0: 2}  # the channel messages liveai takes, whole


def to_event(data: bytes, t: float, source: str, clock_in: bool) -> Event | None:
    """A liveai event for the bytes of an incoming MIDI message (None: ignored); ValueError
    when they are not a whole message. Decoded here, not by mido: it costs less per note."""
    status = data[0]
    if status >= 0xF0:
        if len(data) != 1:
            raise ValueError(f"MIDI message {data.hex(' ')}: 1 byte expected")
        if not clock_in:
            return None
        match status:
            case 0xF8:
                return ClockTick(t=t, source=source)
            case 0xFA | 0xFB:
                return TransportStart(resume=status == 0xFB, t=t, source=source)
            case 0xFC:
                return TransportStop(t=t, source=source)
        return None
    kind, channel = status & 0xF0, status & 0x0F
    length = CHANNEL_LENGTHS.get(kind)
    if length is None:
        return None
    if len(data) != length or max(data[1:]) > 0x7F:
        raise ValueError(f"MIDI message {data.hex(' ')}: not a whole message of {length} bytes")
    match kind:
        case 0x90 if data[2] > 0:
            return NoteOn(data[1], data[2], channel, t=t, source=source)
        case 0x80 | 0x90:
            return NoteOff(data[1], channel, t=t, source=source)
        case 0xB0:
            return ControlChange(data[1], data[2], channel, t=t, source=source)
    return ProgramChange(data[1], channel, t=t, source=source)


def to_message(event: Event, clock_out: bool) -> mido.Message | None:
    """The MIDI message for an outgoing event (None: not sent over MIDI)."""
    match event:
        case NoteOn():
            return mido.Message("note_on", note=event.pitch, velocity=event.velocity, channel=event.channel)
        case NoteOff():
            return mido.Message("note_off", note=event.pitch, velocity=0, channel=event.channel)
        case ControlChange():
            return mido.Message(
                "control_change", control=event.controller, value=event.value, channel=event.channel
            )
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
    """MIDI ports of one API, in liveai's MIDI process: virtual ports and named devices."""

    name = "midi"

    def __init__(self, config: MidiConfig, handle: Callable[[Event], None], stats: Stats) -> None:
        super().__init__()
        self.config = config
        self.handle = handle
        self.stats = stats
        self.lead_s = config.latency_ms / 1000.0
        self.api: str | None = None
        self.inputs: dict[int, str] = {}  # the process's number of an open input -> its name
        self.outputs: list[str] = []
        self._child: MidiChild | None = None
        self._ready: asyncio.Future[None] | None = None
        self._lost: asyncio.Future[str] | None = None  # why the process says the MIDI system went
        self._counts = {"midi_ignored": 0, "midi_in_dropped": 0}  # the process's counts, as last said
        self._said_at = 0.0  # when the process last said anything (time.monotonic())
        self._log_out_dropped = LogThrottle(log, "more dropped", level=logging.WARNING)
        self._log_in_dropped = LogThrottle(log, "more dropped", level=logging.WARNING)
        self._faults = Faults(stats)

    # -- lifecycle ---------------------------------------------------------------------
    async def _open(self) -> None:
        self.api = midi_backend.choose_api(self.config.api)
        if self.api is None:
            log.info("midi off (midi.api = none)")
            return
        midi_backend.check_available(self.api)  # without starting a process for nothing
        if self.api not in midi_backend.compiled_apis():
            raise TransportError(f"MIDI API {self.api!r} is not available in this python-rtmidi build")
        loop = asyncio.get_running_loop()
        self._ready, self._lost = loop.create_future(), loop.create_future()
        self._counts = {"midi_ignored": 0, "midi_in_dropped": 0}
        c = self.config
        self._child = MidiChild(
            {
                "api": self.api,
                "client_name": c.client_name,
                "virtual": c.virtual,
                "inputs": c.inputs,
                "outputs": c.outputs,
                "poll_s": c.poll_s,
                "latency_groups": list(c.output_latency_ms),
            },
            self._take,
        )
        try:
            await self._child.start()
            assert self._child.ended is not None
            done, _ = await asyncio.wait(
                [self._ready, self._lost, self._child.ended],
                timeout=READY_S,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if self._ready not in done:
                raise TransportError(self._why_not(done))
        except BaseException:
            await self._release(gently=False)
            raise
        outputs = ", ".join(self._with_latency(name) for name in self.outputs)
        log.info("midi on %s: %s", self.api, ", ".join(self.inputs.values()) + " / " + outputs)

    def _why_not(self, done: set[asyncio.Future[Any]]) -> str:
        assert self._lost is not None and self._child is not None
        if self._lost in done:
            return self._lost.result()
        if not done:
            return f"the MIDI process said nothing within {READY_S:g} s"
        return self._ended()

    def _ended(self) -> str:
        """Why the process ended unasked: the last thing it said on stderr (a traceback's end)."""
        assert self._child is not None
        last = self._child.chatter.last
        return "the MIDI process ended" + (f": {last}" if last else "")

    async def serve(self) -> None:
        if self.api is None:
            await super().serve()  # nothing to do until cancelled
        assert self._lost is not None and self._child is not None and self._child.ended is not None
        while True:  # until it goes, or its heartbeat stops
            silent_s = time.monotonic() - self._said_at
            if silent_s >= HUNG_S:
                self.stats.count("midi_hung")
                raise TransportError(
                    f"the MIDI process said nothing for {silent_s:.1f} s (stuck in a MIDI call)"
                )
            done, _ = await asyncio.wait(
                [self._lost, self._child.ended],
                timeout=HUNG_S - silent_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if done:
                raise TransportError(self._lost.result() if self._lost.done() else self._ended())

    async def _close(self, lost: bool) -> None:
        held = list(self.inputs.values()) if lost else []
        await self._release(gently=not lost)
        for name in held:  # notes held through a vanished MIDI system must stop
            self.handle(InputLost(t=time.monotonic(), source=f"midi:{name}"))

    async def _release(self, gently: bool) -> None:
        """Stop the process: `gently`, it sends what it was given and closes its ports."""
        child, self._child = self._child, None
        self.inputs.clear()
        self.outputs.clear()
        if child is None:
            return
        await child.stop(gently)
        said = child.chatter.take()
        if said:  # libjack's lines when its server went: one line here, whatever their number
            log.debug("the MIDI system said on stderr meanwhile: %s", said)

    # -- what the process says (on the loop) -------------------------------------------
    def _take(self, frames: list[tuple[int, bytes]]) -> None:
        """Each frame on its own: one that fails is logged and counted, the next is taken."""
        self._said_at = time.monotonic()
        for kind, payload in frames:
            if kind not in (IN, SAY):  # the framing slipped: what follows is noise, so start again
                self._faults(
                    "midi input", ValueError(f"a frame of unknown kind {kind} from the MIDI process")
                )
                self._lose("the MIDI process's frames are garbled")
                return
            try:
                if kind == IN:
                    self._heard(payload)
                else:
                    self._said(parse_say(payload))
            except CommandError as exc:
                self.stats.count("errors")
                log.warning("midi from %s: %s", self._source_of(payload), exc.message)
            except Exception as exc:  # a bug must not stop MIDI input: the next message is taken
                self._faults("midi input", exc)

    def _heard(self, payload: bytes) -> None:
        arrival, number, data = parse_in(payload)
        name = self.inputs.get(number)
        if name is None:  # from an input closed meanwhile
            return
        event = to_event(data, arrival, f"midi:{name}", self.config.clock_in)
        if event is not None:
            self.handle(event)

    def _source_of(self, payload: bytes) -> str:
        try:
            return self.inputs.get(parse_in(payload)[1], "?")
        except Exception:
            return "?"

    def _said(self, said: dict[str, Any]) -> None:
        match said.get("event"):
            case "ready":
                self.inputs = {int(number): str(name) for name, number in said["inputs"]}
                self.outputs = [str(name) for name in said["outputs"]]
                if self._ready is not None and not self._ready.done():
                    self._ready.set_result(None)
            case "opened":
                self._opened(bool(said["input"]), str(said["name"]), int(said["number"]))
            case "gone":
                self._gone(bool(said["input"]), str(said["name"]), int(said["number"]))
            case "counts":
                self._count(said)
            case "log":
                level = logging.getLevelName(str(said["level"]).upper())
                log.log(level if isinstance(level, int) else logging.WARNING, "%s", said["message"])
            case "lost":
                self._lose(str(said["reason"]))
            case other:
                raise ValueError(f"the MIDI process said {other!r}, which liveai does not know")

    def _count(self, said: dict[str, Any]) -> None:
        """Add what the process counted since it last said, and say its drops."""
        for name in self._counts:
            new = int(said[name]) - self._counts[name]
            self.stats.count(name, new)
            self._counts[name] = int(said[name])
            if name == "midi_in_dropped" and new > 0:
                message = "liveai took no MIDI input for a while: %d messages dropped"
                self._log_in_dropped(time.monotonic(), message, new, amount=new)

    def _lose(self, reason: str) -> None:
        """End `serve` with TransportError(reason): the supervisor starts another process."""
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(reason)

    def _opened(self, is_input: bool, name: str, number: int) -> None:
        if is_input:
            self.inputs[number] = name
            log.info("midi input connected: %s", name)
        else:
            self.outputs.append(name)
            log.info("midi output connected: %s", self._with_latency(name))

    def _with_latency(self, name: str) -> str:
        """An output's name, and its latency when it has one (which text matched it)."""
        texts = list(self.config.output_latency_ms)
        group = latency_group(name, texts)
        ms = self.config.output_latency_ms[texts[group - 1]] if group else self.config.latency_ms
        return f"{name} (latency {ms:g} ms)" if ms else name

    def _gone(self, is_input: bool, name: str, number: int) -> None:
        log.warning("midi %s gone: %s", "input" if is_input else "output", name)
        if not is_input:
            if name in self.outputs:
                self.outputs.remove(name)
            return
        if self.inputs.pop(number, None) is not None:
            self.handle(InputLost(t=time.monotonic(), source=f"midi:{name}"))

    # -- output -------------------------------------------------------------------------
    def sinks(self) -> list[tuple[Callable[[Event], None], float]]:
        """One sink for every output, or with `output_latency_ms` one per group of outputs
        (its outputs only, with its lead): group 0 the outputs no text names."""
        overrides = self.config.output_latency_ms
        if not overrides:
            return super().sinks()
        leads = [self.lead_s] + [ms / 1000.0 for ms in overrides.values()]
        return [(self._sink(group), lead) for group, lead in enumerate(leads)]

    def _sink(self, group: int) -> Callable[[Event], None]:
        def send(event: Event) -> None:
            if self.is_open:
                self._send(event, group)

        return send

    def _send(self, event: Event, group: int | None = None) -> None:
        """Engine sink: notes, CCs and (as clock leader) clock go to every output (or
        to those of `group`)."""
        msg = to_message(event, self.config.clock_out)
        if msg is None or self._child is None:
            return
        data = bytes(msg.bytes())
        if not self._child.write(out_frame(data) if group is None else out_to_frame(group, data)):
            self.stats.count("midi_out_dropped")
            self._log_out_dropped(
                time.monotonic(), "the MIDI process takes nothing for now; dropped a %s", msg.type
            )

    def report(self) -> dict[str, Any]:
        return {
            "midi_api": self.api or "none",
            "midi_inputs": ", ".join(self.inputs.values()),
            "midi_outputs": ", ".join(self.outputs),
        }
