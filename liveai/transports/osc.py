"""OSC over UDP: datagrams in, API calls; liveai's output out, to every target.

What a datagram asks for is checked, parsed and dispatched by `osc_input.OscInput`
(which the websocket's binary frames share); bad input is counted and answered with
`/liveai/error code message`, to every target, and never raises out of the endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from pythonosc.osc_message_builder import OscMessageBuilder

from ..config import OscConfig, parse_host_port
from ..control.table import CommandTable
from ..core.commands import Request
from ..core.stats import Stats
from ..errors import CommandError
from ..events import Beat, ControlChange, Event, NoteOff, NoteOn, Report, StateChanged
from .base import Transport, bind_socket
from .osc_input import OscInput
from .osc_subscribers import Subscribers

log = logging.getLogger(__name__)

Address = tuple[str, int]
_RECEIVE_BUFFER = 1 << 20  # bursts of thousands of datagrams must not be dropped by the kernel
_FLOAT32_MAX = 3.4028234663852886e38


def encode(address: str, *args: Any) -> bytes:
    """One OSC message; bools go out as ints (Pd and Max have no T/F), and a float too big
    for 32 bits (an echoed `d`) as a double."""
    builder = OscMessageBuilder(address)
    for arg in args:
        if isinstance(arg, bool):
            builder.add_arg(int(arg))
        elif isinstance(arg, float) and _FLOAT32_MAX < abs(arg) < float("inf"):
            builder.add_arg(arg, OscMessageBuilder.ARG_TYPE_DOUBLE)
        else:
            builder.add_arg(arg)
    return builder.build().dgram


def event_message(event: Event) -> tuple[str, tuple[Any, ...]] | None:
    """The OSC address and arguments for an outgoing event (None: not sent over OSC)."""
    match event:
        case NoteOn():
            return "/liveai/out/note", (event.pitch, event.velocity, event.channel + 1)
        case NoteOff():
            return "/liveai/out/note", (event.pitch, 0, event.channel + 1)
        case ControlChange():
            return "/liveai/out/cc", (event.controller, event.value, event.channel + 1)
        case Beat():
            return "/liveai/out/beat", (event.n,)
        case StateChanged():
            return f"/liveai/out/{event.name}", (event.value,)
        case Report():
            return f"/liveai/out/{event.name}", event.args
    return None


def bind(config: OscConfig) -> socket.socket:
    """The OSC port, bound (TransportError if it cannot be): `serve` binds it before the
    models load, so a port taken is said at once, not after seconds of loading."""
    options = {socket.SO_RCVBUF: _RECEIVE_BUFFER}
    return bind_socket(config.host, config.port, socket.SOCK_DGRAM, options, what="OSC")


def _discard_waiting(sock: socket.socket) -> int:
    """Read away what came before serving (a note then would play seconds late), as
    when the port was not yet bound; how many there were."""
    count = 0
    while True:
        try:
            sock.recv(65536)
        except OSError:  # BlockingIOError: nothing more
            return count
        count += 1


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self, owner: OscTransport) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.owner.receive(data, addr, time.monotonic())

    def error_received(self, exc: Exception) -> None:
        # ICMP "port unreachable" from a target that is not listening: harmless for UDP.
        self.owner.stats.count("send_errors")
        log.debug("osc send error: %s", exc)


class OscTransport(Transport):
    """The OSC endpoint; use as `async with OscTransport(...) as osc`."""

    name = "osc"
    required = True

    def __init__(
        self,
        config: OscConfig,
        table: CommandTable,
        stats: Stats,
        status: Callable[[], dict[str, Any]],
        sock: socket.socket | None = None,
    ) -> None:
        """`sock`: the port, bound already (`bind`), else it is bound when opened."""
        super().__init__()
        self.config = config
        self.table = table
        self.stats = stats
        self.lead_s = config.latency_ms / 1000.0
        self._status = status
        self._transport: asyncio.DatagramTransport | None = None
        self._targets: list[Address] = []
        self.subscribers = Subscribers(config, stats)
        self.input = OscInput(config, table, stats, logger=log)
        self._bound = sock

    # -- lifecycle ------------------------------------------------------------------
    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        host = self.config.host
        sock, early = self._bound or bind(self.config), self._bound is not None
        self._bound = None
        sock.setblocking(False)
        if early and (stale := _discard_waiting(sock)):
            self.stats.count("stale_at_start", stale)
            log.info("%d message(s) sent while the models loaded were dropped (stale by now)", stale)
        self._transport, _ = await loop.create_datagram_endpoint(lambda: _Endpoint(self), sock=sock)
        self._targets = [await self._resolve(*parse_host_port(t)) for t in self.config.targets]
        log.info("osc listening on %s:%d, sending to %s", host, self.port, ", ".join(self.config.targets))

    async def _close(self, lost: bool) -> None:
        self.input.cancel()
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    @property
    def port(self) -> int:
        """The bound port (useful when configured as 0: any free port)."""
        assert self._transport is not None
        return int(self._transport.get_extra_info("sockname")[1])

    async def _resolve(self, host: str, port: int) -> Address:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        address = infos[0][4]
        return str(address[0]), int(address[1])

    # -- input ------------------------------------------------------------------------
    def receive(self, data: bytes, addr: Address, arrival: float) -> None:
        self.subscribers.heard(addr[0], arrival)
        self.input.receive(data, Request(f"osc:{addr[0]}:{addr[1]}", arrival, self, addr[0], addr[1]))

    def panic(self) -> None:
        self.input.panic()

    def refuse(self, request: Request, command: str, error: CommandError) -> None:
        self.input.refuse_late(request, error)

    def clip(self, text: str) -> str:
        return self.input.clip(text)

    # -- output -------------------------------------------------------------------------
    def _send(self, event: Event) -> None:
        """Engine sink: notes, beats and state changes go to every target."""
        found = event_message(event)
        if found is not None:
            self.reply(found[0], *found[1])

    def reply(self, address: str, *args: Any) -> None:
        if self._transport is None:
            return
        data = encode(address, *args)
        for target in [*self._targets, *self.subscribers]:
            self._transport.sendto(data, target)

    def subscribe(self, host: str, port: int) -> None:
        target = (host, port)
        if target in self._targets:
            return  # it hears everything already; twice would double every note
        new = target not in self.subscribers
        try:
            self.subscribers.add(target, time.monotonic())
        except CommandError as exc:  # the requester is not a subscriber: tell it directly
            if self._transport is not None:
                self._transport.sendto(encode("/liveai/error", exc.code, exc.message), target)
            raise
        if new:
            log.info("osc subscriber %s:%d", host, port)

    def unsubscribe(self, host: str, port: int) -> None:
        if self.subscribers.remove((host, port)):
            log.info("osc unsubscribed %s:%d", host, port)

    def status(self) -> dict[str, Any]:
        """The server's status, for a `/liveai/status` handler (Replies)."""
        return self._status()

    def report(self) -> dict[str, Any]:
        return {"osc_port": self.port, "osc_subscribers": len(self.subscribers)} if self.is_open else {}
