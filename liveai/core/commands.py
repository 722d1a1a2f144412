"""How a command is declared, and who asked for it. The control table (liveai.control)
reads the declarations; a behaviour (through the registry) may declare its own.

    @command("tempo")
    def tempo(engine: Engine, request: Request, bpm: Bpm) -> None:
        \"""Internal tempo in BPM (its docstring is the protocol reference).\"""
        engine.set_value("tempo", bpm)

The handler's typed parameters after (engine, request) are the arguments; their
`Annotated` ranges and choices (liveai.config.types) say what is accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import CommandError

OSC, MQTT = "osc", "mqtt"


class Replies(Protocol):
    """What a transport offers a handler to answer with."""

    def reply(self, address: str, *args: Any) -> None: ...
    def refuse(self, request: Request, command: str, error: CommandError) -> None:
        """Answer a command that failed after its handler returned (work done off the
        loop) as a refusal at once would have been answered."""
        ...

    def subscribe(self, host: str, port: int) -> None: ...
    def unsubscribe(self, host: str, port: int) -> None: ...
    def status(self) -> dict[str, Any]: ...


@dataclass
class Request:
    """One incoming message: who sent it, when it arrived, and how to answer."""

    source: str  # e.g. "osc:127.0.0.1:53211", "midi:liveai in", "mqtt"
    arrival: float  # time.monotonic() at arrival
    replies: Replies
    host: str = ""
    port: int = 0


@dataclass(frozen=True)
class CommandDef:
    address: str  # under /liveai/, e.g. "morph/capture"
    handler: Callable[..., None]  # (engine, request, *typed arguments)
    transports: frozenset[str] = frozenset({OSC, MQTT})


def command(address: str, *, mqtt: bool = True) -> Callable[[Callable[..., None]], CommandDef]:
    """Declare a handler as the command at /liveai/<address> (and MQTT cmd/<address>)."""

    def declare(handler: Callable[..., None]) -> CommandDef:
        return CommandDef(address, handler, frozenset({OSC, MQTT} if mqtt else {OSC}))

    return declare


MAX_SESSION_ID = 64  # characters


def player_source(request: Request, session: str | float | int | None) -> str:
    """Whose session a message plays into: an explicit session id, else its sender."""
    if session is None:
        return request.source
    if isinstance(session, float) and session.is_integer():
        session = int(session)  # 1, 1.0 and "1" are one player
    name = str(session)
    if not name or len(name) > MAX_SESSION_ID:
        raise CommandError("bad_value", f"a session id has 1 to {MAX_SESSION_ID} characters")
    return f"session:{name}"
