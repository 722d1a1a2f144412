"""OSC over UDP: datagrams in, API calls; liveai's output out, to every target.

python-osc only encodes and decodes here. Its own asyncio server runs handlers
synchronously and sleeps in the loop for timetagged bundles; this endpoint instead
hands bundle contents to `loop.call_at`, so a bundle for later never holds anything up
(a panic drops those still waiting).
Bad input (unparsable bytes, unknown addresses, wrong arguments) is counted and answered
with `/liveai/error code message`; it never raises out of the endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from dataclasses import replace
from typing import Any, Callable

from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket, ParseError

from ..config import OscConfig, parse_host_port
from ..control.table import CommandTable
from ..core.commands import Request
from ..core.stats import LogThrottle, RateLimit, Stats
from ..errors import CommandError, CommandFault, TransportError
from ..events import Beat, ControlChange, Event, NoteOff, NoteOn, Report, StateChanged
from .base import Transport, clip
from .osc_subscribers import Subscribers
from .osc_wire import TooMuch, WireLimits, check_datagram

log = logging.getLogger(__name__)

Address = tuple[str, int]
# What a hostile datagram can make python-osc's parser raise besides ParseError.
_PARSE_FAILURES = (ParseError, ValueError, IndexError, struct.error, UnicodeDecodeError,
                   OverflowError, RecursionError)
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
    host, port = config.host, config.port
    try:
        family, _, _, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECEIVE_BUFFER)
            sock.bind(sockaddr)
        except OSError:
            sock.close()
            raise
    except OSError as exc:
        raise TransportError(f"cannot listen for OSC on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


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

    def __init__(self, config: OscConfig, table: CommandTable, stats: Stats,
                 status: Callable[[], dict[str, Any]], sock: socket.socket | None = None) -> None:
        """`sock`: the port, bound already (`bind`), else it is bound when opened."""
        super().__init__()
        self.config = config
        self.table = table
        self.stats = stats
        self._status = status
        self._transport: asyncio.DatagramTransport | None = None
        self._targets: list[Address] = []
        self.subscribers = Subscribers(config, stats)
        self._pending: set[asyncio.TimerHandle] = set()
        self._limits = WireLimits(config.max_messages_per_datagram, config.max_arguments, config.max_string_bytes)
        self._error_replies = RateLimit(config.max_errors_per_s)
        self._log_suppressed = LogThrottle(log, "more", level=logging.WARNING)
        self._log_refused = LogThrottle(log, "refusals")  # at info: a player sees why, without -v
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
            log.info("osc: %d message(s) sent while the models loaded were dropped (stale by now)", stale)
        self._transport, _ = await loop.create_datagram_endpoint(lambda: _Endpoint(self), sock=sock)
        self._targets = [await self._resolve(*parse_host_port(t)) for t in self.config.targets]
        log.info("osc listening on %s:%d, sending to %s", host, self.port, ", ".join(self.config.targets))

    async def _close(self, lost: bool) -> None:
        for handle in self._pending:
            handle.cancel()
        self._pending.clear()
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
        request = Request(f"osc:{addr[0]}:{addr[1]}", arrival, self, addr[0], addr[1])
        self.stats.count("datagrams_in")
        self.subscribers.heard(addr[0], arrival)
        try:
            check_datagram(data, self._limits)
            packet = OscPacket(data)
        except TooMuch as exc:
            self._refuse("too_large", str(exc), request)
            return
        except _PARSE_FAILURES as exc:
            self._refuse("malformed", f"cannot parse OSC packet ({len(data)} bytes): {exc}", request)
            return
        if not OscBundle.dgram_is_bundle(data):
            self.dispatch(packet.messages[0].message, request)
            return
        wall_now = time.time()
        for timed in packet.messages:
            delay = timed.time - wall_now
            if delay <= 0.0005:
                self.dispatch(timed.message, request)
            else:
                self._schedule(arrival + delay, delay, timed.message, request)

    def _schedule(self, at: float, delay: float, message: OscMessage, request: Request) -> None:
        """Honour a bundle's timetag with a timer: never a sleep in the loop."""
        if delay > self.config.max_bundle_delay_s:
            self._refuse("bad_value", f"bundle timetag {delay:.1f} s ahead exceeds osc.max_bundle_delay_s",
                         request, counter="dropped")
            return
        if len(self._pending) >= self.config.max_pending_bundles:
            self._refuse("busy", "too many timetagged messages waiting; message dropped", request, counter="dropped")
            return
        loop = asyncio.get_running_loop()
        timed = Request(request.source, at, self, request.host, request.port)

        def fire() -> None:
            self._pending.discard(handle)
            self.dispatch(message, timed)

        handle = loop.call_at(at, fire)
        self._pending.add(handle)

    def panic(self) -> None:
        """Timetagged messages still waiting never play: one firing after the panic
        would count as the player's next note and resume thru or harmonize."""
        if not self._pending:
            return
        for handle in self._pending:
            handle.cancel()
        self.stats.count("dropped", len(self._pending))
        log.info("osc: panic: %d timetagged message(s) still waiting dropped", len(self._pending))
        self._pending.clear()

    def dispatch(self, message: OscMessage, request: Request) -> None:
        self.stats.count("messages_in")
        try:
            self.table.dispatch(message.address, message.params, request)
        except CommandError as exc:
            self._refuse(exc.code, exc.message, request)
        except CommandFault as exc:  # counted in internal_errors where it was contained
            self._answer(exc.code, exc.message, request)

    def _refuse(self, code: str, message: str, request: Request, counter: str | None = None) -> None:
        """Count the refusal (`errors` and its kind), then answer it."""
        self.stats.count("errors")
        self.stats.count(counter or code)
        self._answer(code, message, request)

    def _answer(self, code: str, message: str, request: Request) -> None:
        """`/liveai/error code message`, at most `osc.max_errors_per_s` times a second per
        sending host (a flood of bad messages must not become a flood of replies)."""
        if not self._error_replies.allow(request.host, request.arrival):
            self.stats.count("errors_unanswered")
            self._log_suppressed(request.arrival, "osc: errors from %s beyond osc.max_errors_per_s are "
                                 "counted, not answered", request.host)
            return
        self._log_refused(request.arrival, "osc: refused from %s: %s %s", request.source, code, self.clip(message))
        self.reply("/liveai/error", code, self.clip(message))

    def refuse(self, request: Request, command: str, error: CommandError) -> None:
        """A late refusal is rate-limited as of now, not as of the request's arrival."""
        self._refuse(error.code, error.message, replace(request, arrival=time.monotonic()))

    def clip(self, text: str) -> str:
        """A string liveai echoes, cut to `osc.max_echo_chars`."""
        return clip(text, self.config.max_echo_chars)

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
