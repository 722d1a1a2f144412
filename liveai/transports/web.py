"""liveai's HTTP port (aiohttp, on the engine's loop): the stage page and OSCQuery are
parts mounted on one application, behind one guard (`web_guard`).

Websocket peers are `Client`s: what is sent to one waits in a bounded queue and goes
out at most one frame per `FRAME_S`, so a busy moment costs the loop one frame per page;
a client that cannot keep up is dropped and counted, never waited for.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, Callable, Protocol

from aiohttp import web

from ..config import WebConfig
from ..core.stats import Stats
from ..errors import TransportError
from ..events import Event
from .base import Transport
from .web_guard import Guard

log = logging.getLogger(__name__)

FRAME_S = 0.016  # at most one websocket frame per client this often
MAX_QUEUE = 4096  # items waiting for one client; past it the client is too slow and dropped
SEND_TIMEOUT_S = 2.0  # one frame that takes longer to leave: the client is too slow and dropped
MAX_REQUEST_BYTES = 64 * 1024
Frame = str | bytes


class Part(Protocol):
    """A part of the HTTP port: its routes, and the engine's events as they go out."""

    def mount(self, app: web.Application, web_transport: WebTransport) -> None: ...
    def send(self, event: Event) -> None: ...
    def report(self) -> dict[str, Any]: ...


class Client:
    """One websocket peer. `pack` turns what waits into one frame."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, pack: Callable[[list[Any]], Frame],
                 stats: Stats) -> None:
        self.ws = ws
        self.request = request
        self.pack = pack
        self.stats = stats
        self.pending: deque[Any] = deque()
        self.dropped = False
        self._ready = asyncio.Event()

    def push(self, item: Any) -> None:
        if self.dropped:
            return
        if len(self.pending) >= MAX_QUEUE:
            self.drop("too slow: its queue is full")
            return
        self.pending.append(item)
        self._ready.set()

    def drop(self, why: str) -> None:
        if not self.dropped:
            self.dropped = True
            self.stats.count("web_clients_dropped")
            log.warning("web client dropped: %s", why)
            transport = self.request.transport
            if transport is not None:  # cut at once: a polite close would wait on the same full socket
                transport.abort()

    async def write(self) -> None:
        """Send what waits, one frame per FRAME_S, until the socket closes."""
        while not self.ws.closed and not self.dropped:
            await self._ready.wait()
            self._ready.clear()
            items = list(self.pending)
            self.pending.clear()
            if not items:
                continue
            frame = self.pack(items)
            send = self.ws.send_bytes(frame) if isinstance(frame, bytes) else self.ws.send_str(frame)
            try:
                await asyncio.wait_for(send, SEND_TIMEOUT_S)
            except TimeoutError:  # a peer that stops reading fills the socket
                self.drop(f"a frame took over {SEND_TIMEOUT_S:g} s to leave")
                return
            except (ConnectionError, RuntimeError):
                return
            await asyncio.sleep(FRAME_S)


class WebTransport(Transport):
    name = "web"
    reconnect_max_s = 30.0

    def __init__(self, config: WebConfig, stats: Stats, parts: list[Part]) -> None:
        super().__init__()
        self.config = config
        self.stats = stats
        self.parts = parts
        self.guard = Guard(config)
        # Requests a part serves without the token beyond loopback (Host and Origin still checked).
        self.public: list[Callable[[web.Request], bool]] = []
        # Run once the port is bound (a part's mDNS advertising), at each open.
        self.bound: list[Callable[[], None]] = []
        self.clients = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------
    async def _open(self) -> None:
        app = web.Application(middlewares=[self._guarded], client_max_size=MAX_REQUEST_BYTES)
        self.bound = []
        for part in self.parts:
            part.mount(app, self)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.config.host, self.config.port, reuse_address=True)
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise TransportError(f"web: cannot listen on {self.config.host}:{self.config.port}: {exc}") from exc
        self._runner = runner
        server = site._server  # the bound port, when configured as 0
        self.port = int(server.sockets[0].getsockname()[1]) if server is not None else self.config.port
        log.info("stage page: %s  OSCQuery: %s", self.url("/view"), self.url("/"))
        for hook in self.bound:
            hook()

    async def _close(self, lost: bool) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def url(self, path: str) -> str:
        host = self.config.host if self.guard.loopback else self.config.host.replace("0.0.0.0", "<this machine>")
        token = f"?token={self.guard.token}" if self.guard.token else ""
        return f"http://{host}:{self.port}{path}{token}"

    # -- requests -----------------------------------------------------------------------
    @web.middleware
    async def _guarded(self, request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        needs_token = not any(public(request) for public in self.public)
        why = self.guard.refusal(request.headers, request.query, request.cookies, needs_token)
        if why is not None:
            self.stats.count("web_refused")
            log.warning("web: refused %s %s: %s", request.method, request.path[:80], why)
            raise web.HTTPForbidden(text=why + "\n")
        return await handler(request)

    async def websocket(self, request: web.Request, pack: Callable[[list[Any]], Frame],
                        receive: Callable[[Client, Frame], None],
                        on_open: Callable[[Client], Callable[[], None]] | None = None) -> web.StreamResponse:
        """Serve one websocket: frames from the peer go to `receive`, frames to it through
        its `Client` (`pack`). `on_open(client)` is called once it is connected and returns
        what to call when it closes. Refused with 503 past `web.max_clients`."""
        if self.clients >= self.config.max_clients:
            self.stats.count("web_clients_refused")
            raise web.HTTPServiceUnavailable(text=f"at most {self.config.max_clients} clients (web.max_clients)\n")
        ws = web.WebSocketResponse(max_msg_size=MAX_REQUEST_BYTES, heartbeat=10.0)
        await ws.prepare(request)
        client = Client(ws, request, pack, self.stats)
        self.clients += 1
        writer = asyncio.get_running_loop().create_task(client.write())
        closed = on_open(client) if on_open is not None else None
        try:
            async for message in ws:
                if message.type in (web.WSMsgType.TEXT, web.WSMsgType.BINARY):
                    try:
                        receive(client, message.data)
                    except Exception:  # a bug with one frame: the next frame, and every other client, go on
                        self.stats.count("internal_errors")
                        log.exception("web: internal error handling a frame (the next one runs)")
        finally:
            if closed is not None:
                closed()
            self.clients -= 1
            client.dropped = True
            writer.cancel()
        return ws

    def _send(self, event: Event) -> None:
        for part in self.parts:
            part.send(event)

    def report(self) -> dict[str, Any]:
        status: dict[str, Any] = {"web_port": self.port, "web_clients": self.clients} if self.is_open else {}
        for part in self.parts:
            status.update(part.report())
        return status
