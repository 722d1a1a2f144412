"""The command table: each command's address, handler, arguments, doc and transports,
and the dispatch that OSC and MQTT share. It is separate from any socket: a transport
decodes bytes, builds a Request and calls `dispatch` (OSC) or `dispatch_text` (MQTT).
Both raise CommandError for a client's mistake (the transport counts and refuses it) and
CommandFault for a bug in a command, contained and counted here (the transport answers
it `internal`, counting nothing more).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..core.commands import MQTT, OSC, CommandDef, Request
from ..core.engine import Engine
from ..errors import CommandError, CommandFault
from .params import Param, coerce, params_of, parse_text
from .patterns import is_pattern, matching

PREFIX = "/liveai/"


@dataclass(frozen=True)
class Command:
    address: str  # the full OSC address, e.g. "/liveai/morph/capture"
    handler: Callable[..., None]
    params: tuple[Param, ...]
    doc: str
    transports: frozenset[str]

    @property
    def name(self) -> str:
        """The MQTT command name: `<base>/cmd/<name>`."""
        return self.address.removeprefix(PREFIX)


def describe(definition: CommandDef) -> Command:
    return Command(
        PREFIX + definition.address,
        definition.handler,
        params_of(definition.handler),
        inspect.getdoc(definition.handler) or "",
        definition.transports,
    )


class CommandTable:
    """Every command, in declaration order, bound to the engine it acts on."""

    def __init__(self, engine: Engine, definitions: Iterable[CommandDef]) -> None:
        self.engine = engine
        self.commands: dict[str, Command] = {}
        for definition in definitions:
            command = describe(definition)
            if command.address in self.commands:
                raise ValueError(f"two commands at {command.address}")
            self.commands[command.address] = command
        self._osc = {a: c for a, c in self.commands.items() if OSC in c.transports}

    def dispatch(self, address: str, args: list[Any] | tuple[Any, ...], request: Request) -> None:
        """An OSC message: the command at `address`, or every command its pattern matches
        (each is tried; the first failure is raised, saying how many there were). Raises
        CommandError for the client's mistake, CommandFault for a bug contained here."""
        try:
            self._dispatch(address, args, request)
        except (CommandError, CommandFault):
            raise
        except Exception as exc:  # a bug must not stop the music: contained here, answered by the transport
            raise self._fault(address, exc) from exc

    def _dispatch(self, address: str, args: list[Any] | tuple[Any, ...], request: Request) -> None:
        command = self._osc.get(address)
        if command is not None:
            command.handler(self.engine, request, *coerce(command.address, command.params, args))
            return
        if not is_pattern(address):
            raise CommandError("unknown_address", f"unknown address {address}")
        try:
            found = matching(address, list(self._osc))
        except ValueError as exc:
            raise CommandError("malformed", f"bad address pattern: {exc}") from None
        if not found:
            raise CommandError("unknown_address", f"no address matches {address}")
        failed: list[CommandError | CommandFault] = []
        for match in found:
            command = self._osc[match]
            try:
                command.handler(self.engine, request, *coerce(command.address, command.params, args))
            except CommandError as exc:
                failed.append(exc)
            except Exception as exc:  # the other matched commands still run
                failed.append(self._fault(command.address, exc))
        if failed:
            # a refusal is answered before a fault: it is the client's to fix (the fault is counted anyway)
            failed.sort(key=lambda exc: isinstance(exc, CommandFault))
            first = failed[0]
            more = f" (and {len(failed) - 1} more of the {len(found)} matched)" if len(failed) > 1 else ""
            if isinstance(first, CommandFault):
                raise CommandFault(first.message + more)
            raise CommandError(first.code, first.message + more)

    def dispatch_text(self, name: str, payload: str, request: Request) -> None:
        """An MQTT `cmd/<name>` message with a text payload (`morph_capture` names
        morph/capture too: a topic level of its own is awkward in some MQTT tools).
        Raises as `dispatch` does."""
        command = self.commands.get(PREFIX + name) or self.commands.get(PREFIX + name.replace("_", "/"))
        if command is None or MQTT not in command.transports:
            raise CommandError("unknown_command", f"unknown command {name!r}")
        try:
            args = parse_text(command.address, command.params, payload)
            command.handler(self.engine, request, *coerce(command.address, command.params, args))
        except CommandError:
            raise
        except Exception as exc:  # a bug must not stop the music: contained here, answered by the transport
            raise self._fault(command.address, exc) from exc

    def _fault(self, address: str, exc: Exception) -> CommandFault:
        """A bug in a command, contained: counted in `internal_errors` and logged
        (core/faults.py), then answered `internal` by the transport."""
        self.engine.faults(f"the command {address}", exc)
        return CommandFault(f"internal error handling {address}: {exc}")

    def carried_by(self, transport: str) -> list[Command]:
        return [c for c in self.commands.values() if transport in c.transports]
