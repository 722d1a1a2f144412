"""OSCQuery (Vidvox OSCQueryProposal) on the web port, a `Part` of `WebTransport`.

HTTP GET `/` serves the whole tree (`control/oscquery.py`, generated from the command
table), `/liveai/...` one node, `?ATTRIBUTE` one attribute, `?HOST_INFO` where OSC is.
A browser asking `/` for HTML is sent to the stage page (/view).

The websocket on `/`: text frames `{"COMMAND": "LISTEN"|"IGNORE", "DATA": path}`; a
listened value streams as a binary OSC message whenever it changes, from anywhere.
Binary frames are OSC packets taken as commands exactly as datagrams are (`OscInput`:
the same limits, counters and rate-limited `/liveai/error` answers, back on the socket).
Every answer on the socket is OSC, bad JSON too (`/liveai/error malformed ...`).

Beyond loopback, a tool that sends no `Origin` (TouchDesigner, Max, ossia: not a browser
page) reads the tree and LISTENs without the token; its commands need the token unless
OSC itself listens beyond loopback (then anyone on the network may send them over UDP).
A browser always sends `Origin`, so a page needs the token for everything.
"""

from __future__ import annotations

import json
import logging
import struct
import time
from collections.abc import Mapping
from typing import Any, Callable

from aiohttp import web

from ..config import OscConfig
from ..control import oscquery
from ..control.table import CommandTable
from ..core.commands import OSC, Request
from ..errors import CommandError
from ..events import Event, StateChanged
from .mdns import Advertiser
from .osc import encode
from .osc_input import OscInput
from .web import Client, WebTransport
from .web_guard import is_loopback

log = logging.getLogger(__name__)

Item = tuple[str | None, bytes]  # (the listened address a value replaces, or None; an OSC message)
_IMMEDIATELY = struct.pack(">Q", 1)


def pack(items: list[Item]) -> bytes:
    """One frame: the message, or a bundle of them, only the latest value of each address."""
    latest: dict[Any, bytes] = {}
    for n, (address, data) in enumerate(items):
        latest.pop(address or n, None)
        latest[address or n] = data  # moved to the end: values keep the order of their last change
    messages = list(latest.values())
    if len(messages) == 1:
        return messages[0]
    return b"#bundle\x00" + _IMMEDIATELY + b"".join(struct.pack(">i", len(m)) + m for m in messages)


def _is_oscquery(request: web.Request) -> bool:
    return request.path == "/" or request.path == "/liveai" or request.path.startswith("/liveai/")


def public(request: web.Request) -> bool:
    """No token needed beyond loopback: a tool's (no Origin) reads and websocket."""
    return request.method in ("GET", "HEAD") and "Origin" not in request.headers and _is_oscquery(request)


class Peer:
    """One websocket client: what it listens to, and its answers (core.commands.Replies)."""

    def __init__(self, client: Client, part: OscQuery, may_command: bool) -> None:
        self.client = client
        self.part = part
        self.may_command = may_command
        self.listening: set[str] = set()  # at most the state addresses: nothing else is accepted

    def reply(self, address: str, *args: Any) -> None:
        self.client.push((None, encode(address, *args)))

    def refuse(self, request: Request, command: str, error: CommandError) -> None:
        self.part.input.refuse_late(request, error)

    def subscribe(self, host: str, port: int) -> None:
        raise CommandError("unavailable", "a websocket hears what it LISTENs to; /liveai/subscribe is for UDP")

    unsubscribe = subscribe

    def status(self) -> dict[str, Any]:
        return self.part.status()


class OscQuery:
    def __init__(self, table: CommandTable, osc: OscConfig, status: Callable[[], dict[str, Any]],
                 osc_port: Callable[[], int | None]) -> None:
        """`osc_port`: the bound OSC port (None while OSC is closed)."""
        self.table = table
        self.osc = osc
        self.status = status
        self.osc_port = osc_port
        self.state: Mapping[str, Any] = table.engine.state
        self.input = OscInput(osc, table, table.engine.stats, "websocket", log)
        table.engine.on_panic.append(self.input.panic)  # timetagged bundles from the socket still waiting
        self.peers: set[Peer] = set()
        self.web: WebTransport | None = None
        self.mdns = Advertiser(table.engine.stats)
        self._types = oscquery.state_types(self._tree())  # the addresses a LISTEN may ask for

    def _tree(self) -> dict[str, Any]:
        return oscquery.tree(self.table.carried_by(OSC), self.state)

    # -- the web port ---------------------------------------------------------------------
    def mount(self, app: web.Application, web_transport: WebTransport) -> None:
        self.web = web_transport
        app.router.add_get("/", self._get)
        app.router.add_get("/liveai", self._get)
        app.router.add_get("/liveai/{tail:.*}", self._get)
        if public not in web_transport.public:  # mounted again when the port reopens
            web_transport.public.append(public)
        web_transport.bound.append(self._advertise)
        app.on_cleanup.append(lambda app: self.mdns.close())

    def _advertise(self) -> None:
        assert self.web is not None
        config = self.web.config
        wanted = config.zeroconf == "on" or (config.zeroconf == "auto" and not self.web.guard.loopback)
        port = self.osc_port()
        if wanted and port is not None:
            self.mdns.start(config.host, self.web.port, port)

    async def _get(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/" and request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request)
        asked = [key for key in request.query if key != "token"]
        if "HOST_INFO" in asked:
            return web.json_response(self.host_info(request))
        accept = request.headers.get("Accept", "")
        if request.path == "/" and not asked and "text/html" in accept and "application/json" not in accept:
            raise web.HTTPFound(request.rel_url.with_path("/view"))  # a browser: the stage page (token kept)
        node = oscquery.find(self._tree(), request.path)
        if node is None:
            return web.json_response({"error": f"no OSC node at {request.path[:200]}"}, status=404)
        if not asked:
            return web.json_response(node)
        if len(asked) > 1:
            return web.json_response({"error": "one attribute at a time"}, status=400)
        code, body = oscquery.attribute(node, asked[0])
        if code == 204:
            return web.Response(status=204)
        if code == 400:
            return web.json_response({"error": f"unknown attribute {asked[0][:40]!r}"}, status=400)
        return web.json_response(body)

    def host_info(self, request: web.Request) -> dict[str, Any]:
        """Where OSC is: the address this request reached when OSC listens on every
        interface (it is reachable there too), else OSC's own host."""
        assert self.web is not None
        here = request.transport.get_extra_info("sockname")[0] if request.transport is not None else "127.0.0.1"
        osc_ip = here if self.osc.host in ("0.0.0.0", "::", "") else self.osc.host
        port = self.osc_port()
        info = oscquery.host_info("liveai", osc_ip, port or 0, here, self.web.port)
        if port is None:  # OSC is closed (only while liveai starts or stops: it is required)
            del info["OSC_PORT"]
        return info

    # -- the websocket ----------------------------------------------------------------------
    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        assert self.web is not None
        guard = self.web.guard
        had_token = guard.refusal(request.headers, request.query) is None
        may_command = had_token or not is_loopback(self.osc.host)
        peer: Peer | None = None

        def receive(client: Client, frame: str | bytes) -> None:
            nonlocal peer
            if peer is None or peer.client is not client:
                peer = Peer(client, self, may_command)
                self.peers.add(peer)
            self._receive(peer, frame, request)

        try:
            return await self.web.websocket(request, pack, receive)
        finally:
            if peer is not None:
                self.peers.discard(peer)

    def _receive(self, peer: Peer, frame: str | bytes, http: web.Request) -> None:
        host, port = (http.remote or "?"), 0
        if http.transport is not None:
            peername = http.transport.get_extra_info("peername")
            port = int(peername[1]) if peername else 0
        request = Request(f"ws:{host}:{port}", time.monotonic(), peer, host, port)
        if isinstance(frame, bytes):
            if peer.may_command:
                self.input.receive(frame, request)
            else:
                self.input.refuse("forbidden", "commands on this websocket need the token (web.token)", request)
            return
        try:
            message = json.loads(frame)
            command, path = message["COMMAND"], message["DATA"]
            if not isinstance(path, str):
                raise TypeError("DATA is not a path")
        except (ValueError, TypeError, KeyError) as exc:
            self.input.refuse("malformed", f"a text frame is JSON {{\"COMMAND\": ..., \"DATA\": path}}: {exc}",
                              request)
            return
        if command == "IGNORE":
            peer.listening.discard(path)
        elif command != "LISTEN":
            self.input.refuse("unknown_command", f"unknown COMMAND {str(command)[:40]!r} (LISTEN, IGNORE)", request)
        elif oscquery.find(self._tree(), path) is None:
            self.input.refuse("unknown_address", f"LISTEN: no OSC node at {str(path)[:200]}", request)
        elif path not in self._types:
            self.input.refuse("bad_value", f"LISTEN: {path} has no value to stream (ACCESS 2)", request)
        else:
            peer.listening.add(path)

    def send(self, event: Event) -> None:
        """A changed state value goes to every peer listening to an address showing it."""
        if not isinstance(event, StateChanged) or not self.peers:
            return
        for address in oscquery.showing(event.name):
            listeners = [peer for peer in self.peers if address in peer.listening]
            if not listeners:
                continue
            names = oscquery.listenable(address)
            data = encode(address, *oscquery.cast(self._types[address], (self.state[n] for n in names)))
            for peer in listeners:
                peer.client.push((address, data))

    def report(self) -> dict[str, Any]:
        return {"oscquery_listeners": sum(len(peer.listening) for peer in self.peers), **self.mdns.report()}
