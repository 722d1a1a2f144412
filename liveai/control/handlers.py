"""The commands every mode shares. Each handler's signature says what it accepts and
its docstring is its line in the protocol reference (`python -m liveai.control.reference`).
Modes add their own through the registry (liveai.behaviours.registry)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..config.types import (
    Beats,
    Bpm,
    Channel,
    Midi7,
    ModeName,
    Pitch,
    Port,
    SessionId,
    Temperature,
    Token,
    Unit,
    Velocity,
)
from ..core.commands import CommandDef, Request, command, player_source
from ..core.engine import Engine
from ..errors import CommandError
from ..events import ControlChange, Event, NoteOff, NoteOn
from ..music.scales import parse_key
from .learn_commands import LEARNING


# -- notes and controllers ------------------------------------------------------------
@command("note", mqtt=False)
def note(
    engine: Engine,
    request: Request,
    pitch: Pitch,
    velocity: Velocity,
    channel: Channel = 1,
    session: SessionId | None = None,
) -> None:
    """Play a note into liveai (channel 1-16); velocity 0 is a note off. With `server.sessions =
    "per_source"`, `session` names the player's session (else the sender's host is the player)."""
    event: Event
    source = player_source(request, session)
    if velocity == 0:
        event = NoteOff(pitch, channel - 1, t=request.arrival, source=source)
    else:
        event = NoteOn(pitch, velocity, channel - 1, t=request.arrival, source=source)
    engine.handle(event)


@command("cc", mqtt=False)
def cc(
    engine: Engine,
    request: Request,
    controller: Midi7,
    value: Midi7,
    channel: Channel = 1,
    session: SessionId | None = None,
) -> None:
    """A control change, mapped through `midi.cc_map` (e.g. CC 1 sets the temperature); CC 64 is
    the sustain pedal (CC 121 lifts it)."""
    engine.handle(
        ControlChange(
            controller, value, channel - 1, t=request.arrival, source=player_source(request, session)
        )
    )


# -- commands (also MQTT `cmd/<name>`) ----------------------------------------------
@command("mode")
def mode(engine: Engine, request: Request, name: ModeName, session: SessionId | None = None) -> None:
    """Switch behaviour: off, thru, harmonize, duet, autopilot, morph (needs a captured or loaded slot).
    Sounding notes are released; the mode starts afresh (the same mode too), which resumes it after a
    panic or a stop.
    With `server.sessions = "per_source"` only the sender's (or the named) session changes."""
    engine.set_mode(name, player_source(request, session))


@command("temperature")
def temperature(engine: Engine, request: Request, x: Temperature) -> None:
    """Sampling temperature of the models, clamped to 0.05-2.0."""
    engine.set_value("temperature", x)


@command("tempo")
def tempo(engine: Engine, request: Request, bpm: Bpm) -> None:
    """Tempo in BPM, clamped to 20-300: proposed to the Link session when in one (refused
    while following MIDI clock)."""
    engine.set_value("tempo", bpm)


@command("density")
def density(engine: Engine, request: Request, x: Unit) -> None:
    """How busy generated parts are, 0-1 (clamped); steers autopilot."""
    engine.set_value("density", x)


@command("key")
def key(engine: Engine, request: Request, name: str, scale: str | None = None) -> None:
    """Key and optionally scale that harmonies and generated notes keep to, as one string or two:
    "A minor", "Am", "A:min", "a dorian", "F#m", "Bb major", or "A" "minor"; a key alone ("C") keeps
    the scale. Scales: major, minor (m, min), harmonic_minor, dorian, mixolydian, lydian, phrygian,
    pentatonic_major, pentatonic_minor, blues, chromatic."""
    try:
        tonic, mode = parse_key(name, scale)
    except ValueError as exc:
        raise CommandError("bad_value", f"/liveai/key: {exc}") from None
    engine.set_key(tonic, mode)


@command("register")
def register(engine: Engine, request: Request, low: Pitch, high: Pitch) -> None:
    """Lowest and highest pitch of generated and harmony notes (0-127, low below high)."""
    engine.set_register(low, high)


@command("play")
def play(engine: Engine, request: Request) -> None:
    """Start the transport if it is stopped, from beat 0: beats go out as `/liveai/out/beat n` (and MIDI
    clock if enabled); every mode a panic or a stop stopped (the autopilot, the morph loop) plays again.
    A running transport keeps its beat count: after a panic the loop comes back in phase with its bars
    (and with a DAW's clock it follows). To start again from beat 0: `/liveai/stop`, then play."""
    engine.play()


@command("stop")
def stop(engine: Engine, request: Request) -> None:
    """Stop the transport and every generator (the autopilot, a duet answer, the morph loop); every
    sounding note gets its note-off. `/liveai/play` or a mode resumes them all; the player's next note
    (or a controller `midi.cc_map` does not map, or `/liveai/continue`) resumes thru, harmonize and duet,
    which answer the player. Unlike a panic, it sets no `panicked`."""
    engine.stop()


@command("continue")
def continue_(engine: Engine, request: Request, beats: Beats = 4.0, session: SessionId | None = None) -> None:
    """Duet mode: answer now with about `beats` beats, without waiting for the phrase gap."""
    engine.continue_(beats, player_source(request, session))


@command("morph")
def morph(engine: Engine, request: Request, x: Unit) -> None:
    """Position between morph slots a and b, clamped to 0-1: the loop changes pattern at the next bar
    (`morph.switch = "beat"`: beat). Echoed as /liveai/out/morph."""
    engine.set_value("morph", x)


@command("panic")
def panic(engine: Engine, request: Request) -> None:
    """Silence: all notes off everywhere, queued notes and timetagged OSC messages still waiting dropped
    (counted in `osc_timetagged_dropped`), and every generator in every session
    stopped (the autopilot, a duet answer, the morph loop), its model state forgotten.
    `/liveai/out/panicked 1` says so. `/liveai/play` or a mode resumes them; the player's next note
    (or a controller `midi.cc_map` does not map, or `/liveai/continue`) resumes thru, harmonize and duet.
    `/liveai/out/panicked 0` once all are resumed."""
    engine.panic()


# -- session ------------------------------------------------------------------------------
@command("ping", mqtt=False)
def ping(engine: Engine, request: Request, token: Token | None = None) -> None:
    """Answered by `/liveai/pong [token]`, the token echoed as sent (a string of at most
    `osc.max_echo_chars`)."""
    limit = engine.config.osc.max_echo_chars
    if isinstance(token, str) and len(token) > limit:
        raise CommandError("bad_value", f"a ping token has at most {limit} characters (osc.max_echo_chars)")
    request.replies.reply("/liveai/pong", *([] if token is None else [token]))


@command("status", mqtt=False)
def status(engine: Engine, request: Request) -> None:
    """Answered by `/liveai/status key value key value ...`: every counter (0 until it counts),
    the mode, tempo, `panicked`, ports and figures listed under "`/liveai/status` and MQTT telemetry".
    A figure with nothing measured yet is left out (Pd's `oscparse` refuses OSC's nil)."""
    args: list[Any] = []
    for name, value in request.replies.status().items():
        if value is not None:
            args += [name, int(value) if isinstance(value, bool) else value]
    request.replies.reply("/liveai/status", *args)


@command("subscribe", mqtt=False)
def subscribe(engine: Engine, request: Request, port: Port | None = None) -> None:
    """Send everything liveai sends to the sender's address too (port default: the sender's)."""
    request.replies.subscribe(request.host, port or request.port)


@command("unsubscribe", mqtt=False)
def unsubscribe(engine: Engine, request: Request, port: Port | None = None) -> None:
    """Stop sending to the sender's address (port default: the sender's)."""
    request.replies.unsubscribe(request.host, port or request.port)


PLAYING: tuple[CommandDef, ...] = (
    note,
    cc,
    mode,
    temperature,
    tempo,
    density,
    key,
    register,
    play,
    stop,
    continue_,
    morph,
    panic,
)
SESSION: tuple[CommandDef, ...] = (ping, status, subscribe, unsubscribe)


def definitions(mode_commands: Iterable[CommandDef]) -> list[CommandDef]:
    """The whole table: these commands with those the modes add (`Registry.commands()`)."""
    return [*PLAYING, *mode_commands, *LEARNING, *SESSION]
