"""The one shape of every transport: an async context manager with hooks.

    async with transport:          # _open(): bind, connect, open ports
        await transport.serve()    # until the peer is lost (TransportError) or cancelled
    # _close(lost): release everything; `lost` says the peer went away (not a shutdown)

`send(event)` is the engine's sink: it checks its input and hands it to `_send` while
the transport is open (while it is not, there is no peer to send to). A transport that
loses its peer raises TransportError, and `liveai.transports.supervisor` opens it again
with backoff while the rest keeps playing (mido's ports, httpx's transports, aiomqtt's
reconnection pattern).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from ..errors import TransportError
from ..events import Event


def bind_socket(
    host: str, port: int, kind: socket.SocketKind, options: dict[int, int], what: str = ""
) -> socket.socket:
    """A socket of `kind` bound to host:port with these SOL_SOCKET `options`, and a
    stream socket listening; TransportError ("cannot listen [for <what>] on host:port")
    if it cannot be."""
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=kind)[0]
        sock = socket.socket(family, kind)
        try:
            for option, value in options.items():
                sock.setsockopt(socket.SOL_SOCKET, option, value)
            sock.bind(address)
            if kind == socket.SOCK_STREAM:
                sock.listen(128)
        except OSError:
            sock.close()
            raise
    except OSError as exc:
        listening = f"cannot listen for {what}" if what else "cannot listen"
        raise TransportError(f"{listening} on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


class Transport:
    name = "transport"
    # When True, failing to open stops liveai (OSC cannot listen: nothing else would work);
    # otherwise the supervisor keeps trying (a MIDI system or a broker may come later).
    required = False
    reconnect_max_s = 10.0  # the supervisor's longest wait between attempts
    # What the peers add before the sound (`latency_ms`): scheduled output reaches this
    # transport that much before its time.
    lead_s = 0.0

    def __init__(self) -> None:
        self.is_open = False

    async def __aenter__(self) -> Self:
        await self._open()
        self.is_open = True
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.is_open = False
        lost = exc_type is not None and not issubclass(exc_type, asyncio.CancelledError)
        await self._close(lost)

    async def serve(self) -> None:
        """Run while open: until the peer is lost (raise TransportError) or cancelled."""
        await asyncio.Event().wait()

    def send(self, event: Event) -> None:
        if not isinstance(event, Event):
            raise TypeError(f"{self.name}: send() takes an Event, not {type(event).__name__}")
        if self.is_open:
            self._send(event)

    def sinks(self) -> list[tuple[Callable[[Event], None], float]]:
        """The engine's sinks for this transport, each with its lead in seconds."""
        return [(self.send, self.lead_s)]

    def panic(self) -> None:
        """A panic means silence now: drop what input waits to be handled later."""

    def report(self) -> dict[str, Any]:
        """This transport's keys in `/liveai/status` and telemetry."""
        return {}

    # -- hooks ----------------------------------------------------------------------
    async def _open(self) -> None:
        raise NotImplementedError

    async def _close(self, lost: bool) -> None:
        raise NotImplementedError

    def _send(self, event: Event) -> None:
        raise NotImplementedError


def clip(text: str, limit: int) -> str:
    """A string liveai echoes to a client or its log, cut to `limit` characters (the
    transport's `max_echo_chars`): a client's huge argument never comes back whole."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


async def cancel_all(tasks: set[asyncio.Task[Any]] | list[asyncio.Task[Any]], again_s: float = 0.5) -> None:
    """Cancel `tasks` and wait until every one has ended.

    A task still running after `again_s` is cancelled again: Python 3.11's
    `asyncio.wait_for` (inside aiomqtt's publish) swallows a cancel that lands as its
    future completes, and a shutdown must not wait forever on it.
    """
    pending = set(tasks)
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=again_s)
