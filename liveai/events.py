"""Typed events that flow between transports and the core.

Every event carries `t`, the `time.monotonic()` instant it arrived (for input) or
should be sent (for output), and `origin`, the arrival time of the input that caused
it, so the latency from arrival to send can be measured. Channels are 0-15 inside
liveai; transports translate to what their users see (OSC uses 1-16).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


@dataclass(frozen=True, slots=True)
class Event:
    t: float = field(default=0.0, kw_only=True)
    origin: float | None = field(default=None, kw_only=True, compare=False)
    source: str = field(default="", kw_only=True, compare=False)


PERSONAL = ("osc", "ws", "midi", "session")  # kinds of source that are one player's own


@dataclass(frozen=True, slots=True)
class Source:
    """Where an event or a command came from, parsed once from the text the transports
    put on it: "osc:<host>:<port>", "ws:<host>:<port>" (a web page), "midi:<input>",
    "session:<id>" (an explicit session id), "mqtt", or "" (liveai itself). Text of any
    other form is nobody's own and its own player: a source is never refused, it only
    says who played."""

    text: str  # as the transport wrote it
    kind: str  # "osc", "ws", "midi", "session", "mqtt", ""...
    name: str = ""  # the host, the MIDI input or the session id
    port: int | None = None  # an OSC or web socket's port

    @staticmethod
    @lru_cache(maxsize=256)
    def parse(text: str) -> Source:
        kind, colon, rest = text.partition(":")
        if not colon:
            return Source(text, text)
        if kind in ("osc", "ws"):
            host, colon, port = rest.rpartition(":")
            if colon and port.isdigit():
                return Source(text, kind, host, int(port))
        return Source(text, kind, rest)

    @property
    def player(self) -> str:
        """Who plays: an OSC host whatever port each message comes from (oscsend opens a
        new one per call), else the source itself (each web page is a player of its own)."""
        if self.kind == "osc" and self.port is not None:
            return f"osc:{self.name}"
        return self.text

    @property
    def personal(self) -> bool:
        """One player's own (an OSC host, a page, a MIDI input, a session id), not everyone's
        (MQTT, a mapped controller, liveai itself)."""
        return self.kind in PERSONAL


def player_of(source: str) -> str:
    """Who played an event from `source` (`Source.player`)."""
    return Source.parse(source).player


@dataclass(frozen=True, slots=True)
class NoteOn(Event):
    pitch: int
    velocity: int
    channel: int = 0


@dataclass(frozen=True, slots=True)
class NoteOff(Event):
    pitch: int
    channel: int = 0


SUSTAIN = 64  # the sustain pedal's controller
RESET_CONTROLLERS = 121  # "reset all controllers": the pedal comes up with the rest


def pedal_of(controller: int, value: int) -> bool | None:
    """The sustain pedal a controller change says: down (True), up (False: CC 64 below
    64, or CC 121), or nothing about it (None)."""
    if controller == SUSTAIN:
        return value >= 64
    return False if controller == RESET_CONTROLLERS else None


@dataclass(frozen=True, slots=True)
class ControlChange(Event):
    controller: int
    value: int
    channel: int = 0

    @property
    def pedal(self) -> bool | None:
        """The sustain pedal this says (`pedal_of`)."""
        return pedal_of(self.controller, self.value)


@dataclass(frozen=True, slots=True)
class ProgramChange(Event):
    program: int
    channel: int = 0


@dataclass(frozen=True, slots=True)
class ClockTick(Event):
    """One MIDI clock pulse (24 per quarter note)."""


@dataclass(frozen=True, slots=True)
class TransportStart(Event):
    """MIDI start (from the top) or continue (`resume=True`)."""

    resume: bool = False


@dataclass(frozen=True, slots=True)
class TransportStop(Event):
    pass


@dataclass(frozen=True, slots=True)
class InputLost(Event):
    """An input device went away; notes it was holding must be released."""


@dataclass(frozen=True, slots=True)
class Beat(Event):
    """Outgoing: beat number `n` of the running transport (0-based)."""

    n: int


@dataclass(frozen=True, slots=True)
class Report(Event):
    """Outgoing: how work in the background goes (`learn`: its stage, progress, figures)."""

    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class StateChanged(Event):
    """Outgoing: a piece of public state (mode, tempo, temperature, morph...) changed."""

    name: str
    value: Any
