"""The control API: one typed handler per OSC address, shared with MQTT commands.

Each handler's signature says what it accepts (ints and floats are taken either way,
since Pd and TouchDesigner send floats); its docstring is the protocol reference
(`liveai.protocol_doc` renders both into the README). Handlers are separate from any
socket: a transport decodes bytes, builds a `Client` and calls `ControlApi.dispatch`.
"""

from __future__ import annotations

import inspect
import math
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Protocol

from .config import KEYS, MODES, SCALES
from .core.engine import Engine
from .errors import CommandError
from .events import ControlChange, NoteOff, NoteOn

PREFIX = "/liveai/"


@dataclass(frozen=True)
class Range:
    lo: float
    hi: float
    clamp: bool = False  # clamp into range, else refuse


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...]


Pitch = Annotated[int, Range(0, 127)]
Velocity = Annotated[int, Range(0, 127)]
Channel = Annotated[int, Range(1, 16)]
Midi7 = Annotated[int, Range(0, 127)]
Unit = Annotated[float, Range(0.0, 1.0, clamp=True)]
Temperature = Annotated[float, Range(0.05, 2.0, clamp=True)]
Bpm = Annotated[float, Range(20.0, 300.0, clamp=True)]
Beats = Annotated[float, Range(0.25, 64.0, clamp=True)]
Port = Annotated[int, Range(1, 65535)]
Mode = Annotated[str, Choice(MODES)]
KeyName = Annotated[str, Choice(KEYS)]
ScaleName = Annotated[str, Choice(SCALES)]
Slot = Annotated[str, Choice(("a", "b"))]
Token = int | float | str


class Replies(Protocol):
    """What a transport offers a handler to answer with."""

    def reply(self, address: str, *args: Any) -> None: ...
    def subscribe(self, host: str, port: int) -> None: ...
    def unsubscribe(self, host: str, port: int) -> None: ...
    def status(self) -> dict[str, Any]: ...


@dataclass
class Client:
    """Who sent a message, when it arrived, and how to answer."""

    source: str  # e.g. "osc:127.0.0.1:53211", "midi:liveai in", "mqtt"
    arrival: float  # time.monotonic() at arrival
    replies: Replies
    host: str = ""
    port: int = 0


@dataclass(frozen=True)
class Param:
    name: str
    kind: Any  # int, float, str or Token
    default: Any = inspect.Parameter.empty
    range: Range | None = None
    choice: Choice | None = None

    @property
    def optional(self) -> bool:
        return self.default is not inspect.Parameter.empty


@dataclass(frozen=True)
class Handler:
    address: str
    func: Callable[..., None]
    params: tuple[Param, ...]
    doc: str
    mqtt: bool


def handler(address: str, mqtt: bool = False) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Declare an API method for `/liveai/<address>`; `mqtt=True` also makes it a command."""

    def mark(func: Callable[..., None]) -> Callable[..., None]:
        func._liveai_address = PREFIX + address  # type: ignore[attr-defined]
        func._liveai_mqtt = mqtt  # type: ignore[attr-defined]
        return func

    return mark


def _params(func: Callable[..., None]) -> tuple[Param, ...]:
    hints = typing.get_type_hints(func, include_extras=True)
    params = []
    for p in list(inspect.signature(func).parameters.values())[1:]:  # skip the client (bound: no self)
        hint = hints[p.name]
        rng = choice = None
        if typing.get_origin(hint) in (typing.Union, types.UnionType):  # X | None
            args = tuple(a for a in typing.get_args(hint) if a is not type(None))
            hint = args[0] if len(args) == 1 else Token
        if typing.get_origin(hint) is Annotated:
            hint, *extras = typing.get_args(hint)
            rng = next((e for e in extras if isinstance(e, Range)), None)
            choice = next((e for e in extras if isinstance(e, Choice)), None)
        params.append(Param(p.name, hint, p.default, rng, choice))
    return tuple(params)


def coerce(h: Handler, args: list[Any] | tuple[Any, ...]) -> list[Any]:
    """Check and convert OSC arguments for `h`; raise CommandError("bad_args") if wrong."""
    required = sum(not p.optional for p in h.params)
    if not required <= len(args) <= len(h.params):
        raise CommandError("bad_args", f"{h.address} takes {_arity(h)}, got {len(args)} argument(s)")
    return [_coerce_one(h.address, p, a) for p, a in zip(h.params, args)]


def _coerce_one(address: str, p: Param, value: Any) -> Any:
    if p.kind is Token:
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            return value
        raise CommandError("bad_args", f"{address}: {p.name} must be a number or a string")
    if p.kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise CommandError("bad_args", f"{address}: {p.name} must be a number, got {value!r}")
        value = round(value) if p.kind is int else float(value)
        if p.range is not None and not p.range.lo <= value <= p.range.hi:
            if not p.range.clamp:
                raise CommandError(
                    "bad_value", f"{address}: {p.name} {value} is out of range {p.range.lo:g}..{p.range.hi:g}"
                )
            value = min(max(value, p.kind(p.range.lo)), p.kind(p.range.hi))
        return value
    if not isinstance(value, str):
        raise CommandError("bad_args", f"{address}: {p.name} must be a string, got {value!r}")
    if p.choice is not None and value not in p.choice.options:
        raise CommandError("bad_value", f"{address}: {p.name} must be one of {', '.join(p.choice.options)}")
    return value


def parse_text_args(h: Handler, text: str) -> list[Any]:
    """Turn an MQTT payload ("0.8", "harmonize", "a song.mid") into typed arguments."""
    words = text.split(maxsplit=max(len(h.params) - 1, 0)) if h.params else []
    if not h.params and text.strip():
        raise CommandError("bad_args", f"{h.address} takes no arguments")
    out: list[Any] = []
    for p, word in zip(h.params, words):
        if p.kind in (int, float, Token):
            try:
                out.append(float(word))
                continue
            except ValueError:
                if p.kind is not Token:
                    raise CommandError("bad_args", f"{h.address}: {p.name} must be a number, got {word!r}") from None
        out.append(word)
    return out


def _arity(h: Handler) -> str:
    names = [f"[{p.name}]" if p.optional else p.name for p in h.params]
    return " ".join(names) if names else "no arguments"


class ControlApi:
    """Every message liveai understands, in one place."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.handlers: dict[str, Handler] = {}
        for _, method in inspect.getmembers(self, inspect.ismethod):
            address = getattr(method, "_liveai_address", None)
            if address:
                self.handlers[address] = Handler(
                    address, method, _params(method), inspect.getdoc(method) or "", getattr(method, "_liveai_mqtt")
                )

    def dispatch(self, address: str, args: list[Any] | tuple[Any, ...], client: Client) -> None:
        h = self.handlers.get(address)
        if h is None:
            raise CommandError("unknown_address", f"unknown address {address}")
        h.func(client, *coerce(h, args))

    def dispatch_command(self, name: str, payload: str, client: Client) -> None:
        """An MQTT `cmd/<name>` message with a text payload."""
        h = self.handlers.get(PREFIX + name)
        if h is None or not h.mqtt:
            raise CommandError("unknown_command", f"unknown command {name!r}")
        h.func(client, *coerce(h, parse_text_args(h, payload)))

    # -- notes and controllers ------------------------------------------------
    @handler("note")
    def note(self, client: Client, pitch: Pitch, velocity: Velocity, channel: Channel = 1) -> None:
        """Play a note into liveai (channel 1-16); velocity 0 is a note off."""
        if velocity == 0:
            event: Any = NoteOff(pitch, channel - 1, t=client.arrival, source=client.source)
        else:
            event = NoteOn(pitch, velocity, channel - 1, t=client.arrival, source=client.source)
        self.engine.handle(event)

    @handler("cc")
    def cc(self, client: Client, controller: Midi7, value: Midi7, channel: Channel = 1) -> None:
        """A control change, mapped through `midi.cc_map` (e.g. CC 1 sets the temperature)."""
        self.engine.handle(ControlChange(controller, value, channel - 1, t=client.arrival, source=client.source))

    # -- commands (also MQTT `cmd/<name>`) ----------------------------------------
    @handler("mode", mqtt=True)
    def mode(self, client: Client, name: Mode) -> None:
        """Switch behaviour: off, thru, harmonize, duet, autopilot (morph is not available yet). Sounding
        notes are released. With `server.sessions = "per_source"` only the sender's session changes."""
        self.engine.set_mode(name, client.source)

    @handler("temperature", mqtt=True)
    def temperature(self, client: Client, x: Temperature) -> None:
        """Sampling temperature of the models, clamped to 0.05-2.0."""
        self.engine.command("temperature", x)

    @handler("tempo", mqtt=True)
    def tempo(self, client: Client, bpm: Bpm) -> None:
        """Internal tempo in BPM, clamped to 20-300 (refused while following MIDI clock)."""
        self.engine.command("tempo", bpm)

    @handler("density", mqtt=True)
    def density(self, client: Client, x: Unit) -> None:
        """How busy generated parts are, 0-1 (clamped); steers autopilot."""
        self.engine.command("density", x)

    @handler("key", mqtt=True)
    def key(self, client: Client, name: KeyName, scale: ScaleName | None = None) -> None:
        """Key (C, C#, Db ... B) and optionally scale (major, minor, dorian, blues ...) that harmonies and
        generated notes keep to."""
        self.engine.command("key", name, scale)

    @handler("register", mqtt=True)
    def register(self, client: Client, low: Pitch, high: Pitch) -> None:
        """Lowest and highest pitch of generated and harmony notes (0-127, low below high)."""
        self.engine.command("register", low, high)

    @handler("play", mqtt=True)
    def play(self, client: Client) -> None:
        """Start the transport: beats go out as `/liveai/out/beat n` (and MIDI clock if enabled)."""
        self.engine.command("play")

    @handler("stop", mqtt=True)
    def stop(self, client: Client) -> None:
        """Stop the transport; every sounding note gets its note-off."""
        self.engine.command("stop")

    @handler("continue", mqtt=True)
    def continue_(self, client: Client, beats: Beats = 4.0) -> None:
        """Duet mode: answer now with about `beats` beats, without waiting for the phrase gap."""
        self.engine.continue_(beats, client.source)

    @handler("morph", mqtt=True)
    def morph(self, client: Client, x: Unit) -> None:
        """Position between morph slots a and b, clamped to 0-1."""
        self.engine.command("morph", x)

    @handler("morph/capture")
    def morph_capture(self, client: Client, slot: Slot) -> None:
        """The last bars played go into slot a or b (needs the VAE model)."""
        self.engine.command("morph/capture", slot)

    @handler("morph/load")
    def morph_load(self, client: Client, slot: Slot, path: str) -> None:
        """A MIDI file goes into slot a or b (needs the VAE model)."""
        self.engine.command("morph/load", slot, path)

    @handler("panic", mqtt=True)
    def panic(self, client: Client) -> None:
        """All notes off everywhere, queued notes dropped."""
        self.engine.command("panic")

    # -- session ------------------------------------------------------------------
    @handler("ping")
    def ping(self, client: Client, token: Token | None = None) -> None:
        """Answered by `/liveai/pong [token]`, the token echoed as sent."""
        client.replies.reply("/liveai/pong", *([] if token is None else [token]))

    @handler("status")
    def status(self, client: Client) -> None:
        """Answered by `/liveai/status key value key value ...`: uptime_s, events in/out per s,
        latency_p50_ms/latency_p99_ms (arrival to send), error counters, mode, tempo, ports."""
        args: list[Any] = []
        for key, value in client.replies.status().items():
            args += [key, int(value) if isinstance(value, bool) else value]
        client.replies.reply("/liveai/status", *args)

    @handler("subscribe")
    def subscribe(self, client: Client, port: Port | None = None) -> None:
        """Send everything liveai sends to the sender's address too (port default: the sender's)."""
        client.replies.subscribe(client.host, port or client.port)

    @handler("unsubscribe")
    def unsubscribe(self, client: Client, port: Port | None = None) -> None:
        """Stop sending to the sender's address (port default: the sender's)."""
        client.replies.unsubscribe(client.host, port or client.port)
