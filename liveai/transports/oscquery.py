"""OSCQuery (Vidvox OSCQueryProposal) on the web port, a `Part` of `WebTransport`.

HTTP GET `/` serves the whole tree (`control/oscquery.py`, generated from the command
table), `/liveai/...` one node, `?ATTRIBUTE` one attribute, `?HOST_INFO` where OSC is.
A browser asking `/` for HTML is sent to the stage page (/view).

The websocket on `/`: text frames `{"COMMAND": "LISTEN"|"IGNORE", "DATA": path}`; a
listened value is sent at once, then streams as a binary OSC message whenever it changes,
from anywhere (values changed within one tick: one frame each, the latest per address).
A LISTEN on a node without a value (a write-only command) is accepted; nothing streams.
Binary frames are OSC packets taken as commands exactly as datagrams are (`OscInput`:
the same limits, counters and rate-limited `/liveai/error` answers, back on the socket).
Every answer on the socket is OSC, bad JSON too (`/liveai/error malformed ...`).

Beyond loopback, a tool that sends no `Origin` (TouchDesigner, Max, ossia: not a browser
page) reads the tree and LISTENs without the token; its commands need the token unless
OSC itself listens beyond loopback (then anyone on the network may send them over UDP).
A browser sends `Origin` on cross-origin requests and every websocket, so a page's
websocket needs the token.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

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


def pack(items: list[Item]) -> list[bytes]:
    """The frames of one tick, a message each (a tool reads messages, not bundles): every
    answer, and only the latest value of each listened address."""
    latest: dict[Any, bytes] = {}
    for n, (address, data) in enumerate(items):
        latest.pop(address or n, None)
        latest[address or n] = data  # moved to the end: values keep the order of their last change
    return list(latest.values())


def _is_oscquery(request: web.Request) -> bool:
    return request.path == "/" or request.path == "/liveai" or request.path.startswith("/liveai/")


def public(request: web.Request) -> bool:
    """No token needed beyond loopback: a tool's (no Origin) reads and websocket."""
    return request.method in ("GET", "HEAD") and "Origin" not in request.headers and _is_oscquery(request)


class Listener:
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
        raise CommandError(
            "unavailable", "a websocket hears what it LISTENs to; /liveai/subscribe is for UDP"
        )

    unsubscribe = subscribe

    def status(self) -> dict[str, Any]:
        return self.part.status()


class OscQuery:
    def __init__(
        self,
        table: CommandTable,
        osc: OscConfig,
        status: Callable[[], dict[str, Any]],
        osc_port: Callable[[], int | None],
    ) -> None:
        """`osc_port`: the bound OSC port (None while OSC is closed)."""
        self.table = table
        self.osc = osc
        self.status = status
        self.osc_port = osc_port
        self.state: Mapping[str, Any] = table.engine.state
        self.input = OscInput(osc, table, table.engine.stats, logger=log)
        table.engine.on_panic.append(self.input.panic)  # timetagged bundles from the socket still waiting
        self.listeners: set[Listener] = set()
        self.web: WebTransport | None = None
        self.mdns = Advertiser(table.engine.stats)
        self.space = oscquery.AddressSpace(table.carried_by(OSC), self.state)

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
        if wanted and port is not None:  # OSC on loopback: no one else could reach it
            self.mdns.start(config.host, self.web.port, None if is_loopback(self.osc.host) else port)

    async def _get(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/" and request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request)
        asked = [key for key in request.query if key != "token"]
        if "HOST_INFO" in asked:
            return web.json_response(self.host_info(request))
        accept = request.headers.get("Accept", "")
        if request.path == "/" and not asked and "text/html" in accept and "application/json" not in accept:
            raise web.HTTPFound(request.rel_url.with_path("/view"))  # a browser: the stage page (token kept)
        node = self.space.node(request.path)
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
        here = (
            request.transport.get_extra_info("sockname")[0] if request.transport is not None else "127.0.0.1"
        )
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
        listener: Listener | None = None

        def opened(client: Client) -> Callable[[], None]:
            nonlocal listener
            listener = joined = Listener(client, self, may_command)
            self.listeners.add(joined)
            return lambda: self.listeners.discard(joined)

        def receive(client: Client, frame: str | bytes) -> None:
            assert listener is not None  # opened before any frame
            self._receive(listener, frame, request)

        return await self.web.websocket(request, pack, receive, on_open=opened)

    def _receive(self, listener: Listener, frame: str | bytes, http: web.Request) -> None:
        host, port = (http.remote or "?"), 0
        if http.transport is not None:
            peername = http.transport.get_extra_info("peername")
            port = int(peername[1]) if peername else 0
        request = Request(f"ws:{host}:{port}", time.monotonic(), listener, host, port)
        if isinstance(frame, bytes):
            if listener.may_command:
                self.input.receive(frame, request)
            else:
                self.input.refuse(
                    "forbidden", "commands on this websocket need the token (web.token)", request
                )
            return
        try:
            message = json.loads(frame)
            command, path = message["COMMAND"], message["DATA"]
            if not isinstance(path, str):
                raise TypeError("DATA is not a path")
        except (ValueError, TypeError, KeyError, RecursionError) as exc:  # "[[[[..." is too deep
            self.input.refuse(
                "malformed", f'a text frame is JSON {{"COMMAND": ..., "DATA": path}}: {exc}', request
            )
            return
        if command == "IGNORE":
            listener.listening.discard(oscquery.normal(path))
        elif command != "LISTEN":
            self.input.refuse(
                "unknown_command", f"unknown COMMAND {str(command)[:40]!r} (LISTEN, IGNORE)", request
            )
        elif (address := oscquery.normal(path)) not in self.space.nodes:
            self.input.refuse("unknown_address", f"LISTEN: no OSC node at {str(path)[:200]}", request)
        elif address in self.space.types:  # a node without a value: accepted, nothing streams
            listener.listening.add(address)
            listener.client.push((address, encode(address, *self.space.value(address))))  # now, then changes

    def send(self, event: Event) -> None:
        """A changed state value goes to every listener listening to an address showing it."""
        if not isinstance(event, StateChanged) or not self.listeners:
            return
        for address in oscquery.showing(event.name):
            hearing = [listener for listener in self.listeners if address in listener.listening]
            if not hearing:
                continue
            data = encode(address, *self.space.value(address))
            for listener in hearing:
                listener.client.push((address, data))

    def report(self) -> dict[str, Any]:
        return {
            "oscquery_listeners": sum(len(listener.listening) for listener in self.listeners),
            **self.mdns.report(),
        }
