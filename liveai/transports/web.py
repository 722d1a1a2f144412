"""liveai's HTTP port (aiohttp, on the engine's loop): the stage page and OSCQuery are
parts mounted on one application, behind one guard (`web_guard`).

Websocket peers are `Client`s: what is sent to one waits in a bounded queue and goes
out at most one frame per `FRAME_S`, so a busy moment costs the loop one frame per page;
a client that cannot keep up is dropped and counted, never waited for.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from aiohttp import WSCloseCode, web

from ..config import WebConfig
from ..core.faults import Faults
from ..core.stats import LogThrottle, Stats
from ..errors import TransportError
from ..events import Event
from .base import Transport, bind_socket
from .web_guard import Guard

log = logging.getLogger(__name__)

FRAME_S = 0.016  # at most one websocket frame per client this often
MAX_QUEUE = 4096  # items waiting for one client; past it the client is too slow and dropped
SEND_TIMEOUT_S = 2.0  # one frame that takes longer to leave: the client is too slow and dropped
CLOSE_S = 1.0  # a websocket's goodbye at shutdown, at most (a busy browser answers late)
MAX_FRAMES_IN_PER_S = 1000  # read from one peer; a page sends a few dozen, a flood waits its turn
MAX_REQUEST_BYTES = 64 * 1024
Frame = str | bytes


# Every answer: no page may frame liveai's (clickjacking), nor learn its URL and token.
SAFE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def bind(config: WebConfig) -> socket.socket:
    """The web port, bound and listening (TransportError if it cannot be): `serve` binds it
    before the models load, as the OSC port, so a port taken is said at once."""
    return bind_socket(config.host, config.port, socket.SOCK_STREAM, {socket.SO_REUSEADDR: 1})


class Part(Protocol):
    """A part of the HTTP port: its routes, and the engine's events as they go out."""

    def mount(self, app: web.Application, web_transport: WebTransport) -> None: ...
    def send(self, event: Event) -> None: ...
    def report(self) -> dict[str, Any]: ...


class Client:
    """One websocket peer. `pack` turns what waits into the frames of one tick (most often
    one; an OSCQuery listener gets one message per frame)."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        request: web.Request,
        pack: Callable[[list[Any]], Frame | list[Frame]],
        stats: Stats,
        faults: Faults,
    ) -> None:
        self.ws = ws
        self.request = request
        self.pack = pack
        self.stats = stats
        self.faults = faults
        self.pending: deque[Any] = deque()
        self.done = False  # dropped, closed or gone: nothing more is sent to it
        self._ready = asyncio.Event()

    def push(self, item: Any) -> None:
        if self.done:
            return
        if len(self.pending) >= MAX_QUEUE:
            self.drop("too slow: its queue is full")
            return
        self.pending.append(item)
        self._ready.set()

    def drop(self, why: str) -> None:
        if not self.done:
            self.done = True
            self.stats.count("web_clients_dropped")
            log.warning("web client dropped: %s", why)
            self.abort()

    async def close(self) -> None:
        """Say goodbye (1001: going away); a peer that does not take it is cut off."""
        self.done = True
        try:
            await asyncio.wait_for(
                self.ws.close(code=WSCloseCode.GOING_AWAY, message=b"liveai stops"), CLOSE_S
            )
        except (TimeoutError, ConnectionError, RuntimeError):
            self.abort()

    def abort(self) -> None:
        transport = self.request.transport
        if transport is not None:  # cut at once: a polite close would wait on the same full socket
            transport.abort()

    async def write(self) -> None:
        """Send what waits, one tick per FRAME_S, until the socket closes."""
        while not self.ws.closed and not self.done:
            await self._ready.wait()
            self._ready.clear()
            items = list(self.pending)
            self.pending.clear()
            if not items:
                continue
            try:
                packed = self.pack(items)
            except Exception as exc:  # a bug in one tick: the page would freeze, so it is dropped
                self.faults("a web client's frame", exc)
                self.drop("its frame could not be made")
                return
            for frame in packed if isinstance(packed, list) else [packed]:
                send = self.ws.send_bytes(frame) if isinstance(frame, bytes) else self.ws.send_str(frame)
                try:
                    await asyncio.wait_for(send, SEND_TIMEOUT_S)
                except TimeoutError:  # a peer that stops reading fills the socket
                    self.drop(f"a frame took over {SEND_TIMEOUT_S:g} s to leave")
                    return
                except (ConnectionError, RuntimeError):
                    return
            await asyncio.sleep(FRAME_S)


class Inflow:
    """Frames from one peer, at most MAX_FRAMES_IN_PER_S: past it, the next frame is read
    only later, so a flooding peer is slowed by TCP and nobody else waits."""

    def __init__(self) -> None:
        self.start = 0.0
        self.count = 0

    async def wait(self) -> None:
        now = time.monotonic()
        if now - self.start >= 1.0:
            self.start, self.count = now, 0
        self.count += 1
        if self.count > MAX_FRAMES_IN_PER_S:
            await asyncio.sleep(self.start + 1.0 - now)


class WebTransport(Transport):
    name = "web"
    reconnect_max_s = 30.0

    def __init__(
        self,
        config: WebConfig,
        stats: Stats,
        faults: Faults,
        parts: list[Part],
        sock: socket.socket | None = None,
    ) -> None:
        """`sock`: the port, bound already (`bind`), else it is bound when opened."""
        super().__init__()
        self._bound = sock
        self.config = config
        self.stats = stats
        self.faults = faults
        self.parts = parts
        self.guard = Guard(config)
        self._log_refused = LogThrottle(log, "refusals", level=logging.WARNING)
        # Requests a part serves without the token beyond loopback (Host and Origin still checked).
        self.public: list[Callable[[web.Request], bool]] = []
        # Run once the port is bound (a part's mDNS advertising), at each open.
        self.bound: list[Callable[[], None]] = []
        self.live: set[Client] = set()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------
    async def _open(self) -> None:
        app = web.Application(middlewares=[self._guarded], client_max_size=MAX_REQUEST_BYTES)
        self.bound, self.public = [], []  # the parts mount again
        for part in self.parts:
            part.mount(app, self)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        try:
            sock, self._bound = self._bound or bind(self.config), None
            site = web.SockSite(runner, sock)
            await site.start()
        except (OSError, TransportError) as exc:
            await runner.cleanup()
            raise TransportError(f"{exc}") from exc
        self._runner = runner
        self.port = int(sock.getsockname()[1])
        log.info("stage page: %s  OSCQuery: %s", self.url("/view"), self.url("/"))
        for hook in self.bound:
            hook()

    async def _close(self, lost: bool) -> None:
        # Pages and listeners first, told liveai goes away: the runner would wait seconds for them.
        await asyncio.gather(*(client.close() for client in list(self.live)))
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def url(self, path: str) -> str:
        host = (
            self.config.host if self.guard.loopback else self.config.host.replace("0.0.0.0", "<this machine>")
        )
        token = f"?token={self.guard.token}" if self.guard.token else ""
        return f"http://{host}:{self.port}{path}{token}"

    # -- requests -----------------------------------------------------------------------
    @web.middleware
    async def _guarded(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        needs_token = not any(public(request) for public in self.public)
        why = self.guard.refusal(request.headers, request.query, needs_token)
        if why is not None:
            self.stats.count("web_refused")
            self._log_refused(time.monotonic(), "refused %s %s: %s", request.method, request.path[:80], why)
            raise web.HTTPForbidden(text=why + "\n", headers=SAFE_HEADERS)
        response = await handler(request)
        if not response.prepared:  # a websocket has sent its headers already
            response.headers.update(SAFE_HEADERS)
        return response

    async def websocket(
        self,
        request: web.Request,
        pack: Callable[[list[Any]], Frame | list[Frame]],
        receive: Callable[[Client, Frame], None],
        on_open: Callable[[Client], Callable[[], None]] | None = None,
    ) -> web.StreamResponse:
        """Serve one websocket: frames from the peer go to `receive`, frames to it through
        its `Client` (`pack`). `on_open(client)` is called once it is connected and returns
        what to call when it closes. Browsers (with an `Origin`) and tools (without) have
        `web.max_clients` each, so neither can lock the other out: past it, 503."""
        browser = "Origin" in request.headers
        if sum(("Origin" in c.request.headers) == browser for c in self.live) >= self.config.max_clients:
            self.stats.count("web_clients_refused")
            raise web.HTTPServiceUnavailable(
                text=f"at most {self.config.max_clients} clients (web.max_clients)\n"
            )
        ws = web.WebSocketResponse(max_msg_size=MAX_REQUEST_BYTES, heartbeat=10.0)
        await ws.prepare(request)
        client = Client(ws, request, pack, self.stats, self.faults)
        self.live.add(client)
        writer = asyncio.get_running_loop().create_task(client.write())
        closed = None
        inflow = Inflow()
        try:
            closed = on_open(client) if on_open is not None else None
            async for message in ws:
                if message.type in (web.WSMsgType.TEXT, web.WSMsgType.BINARY):
                    try:
                        receive(client, message.data)
                    except (
                        Exception
                    ) as exc:  # a bug with one frame: the next frame, and every other client, go on
                        self.faults("a web client's frame", exc)
                    await inflow.wait()
        finally:
            self.live.discard(client)
            client.done = True
            writer.cancel()
            if closed is not None:
                closed()
        return ws

    def _send(self, event: Event) -> None:
        for part in self.parts:
            part.send(event)

    def report(self) -> dict[str, Any]:
        status: dict[str, Any] = (
            {"web_port": self.port, "web_clients": len(self.live)} if self.is_open else {}
        )
        for part in self.parts:
            status.update(part.report())
        return status
