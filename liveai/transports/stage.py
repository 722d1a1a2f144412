"""The stage page: GET /view (HTML, CSS and JavaScript from the `liveai.stage` package)
and its websocket, /view/socket.

Out: the player's notes (the engine's input tap) and liveai's (the output sink), the
plan (every note the scheduler holds, as it is queued, and taken back when withdrawn),
state changes, the learning's reports (/liveai/out/learn), and health every `HEALTH_S`. A
page that connects first gets the current state, the last `HISTORY_S` of notes, the plan
and the latest learning report, so it is never blank. In: commands as
JSON, dispatched through the command table as OSC's are, with OSC's limits.

Nothing here waits for a page: what goes to one is pushed on its bounded queue
(`web.Client`), and with no page open the cost is a note kept in a bounded history.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from importlib import resources
from typing import Any

from aiohttp import web

from ..config import Config
from ..control.table import CommandTable
from ..core.commands import Request
from ..core.engine import Engine
from ..core.stats import LogThrottle, RateLimit
from ..errors import CommandError, CommandFault
from ..events import Event, InputLost, NoteOff, NoteOn, Report, StateChanged
from .base import clip
from .stage_wire import note_item, pack, parse_command, plan_item
from .web import Client, Frame, WebTransport

log = logging.getLogger(__name__)

HISTORY_S = 10.0  # a page that connects gets the notes of this long ago
HISTORY_MAX = 4096  # notes kept for it at most (a flood keeps only the latest)
HEALTH_S = 0.5
MAX_COMMANDS_PER_S = 500.0  # from one page; beyond, refused `busy` (a keyboard plays far fewer)
LATENCY_EDGES_MS = [0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 50.0]  # the histogram's bins
ASSETS = {
    "stage.js": "text/javascript",
    "roll.js": "text/javascript",
    "controls.js": "text/javascript",
    "stage.css": "text/css",
}
_HEALTH_KEYS = (
    "latency_p50_ms",
    "latency_p99_ms",
    "latency_samples",
    "deadline_misses",
    "osc_timetagged_dropped",
    "midi_in_dropped",
    "midi_out_dropped",
    "mqtt_outbox_dropped",
    "errors",
    "web_clients",
    "web_clients_dropped",
    "web_refused",
    "sessions",
    "mode",
    "tempo",
    "playing",
    "panicked",
    "audio",
    "audio_device",
    "audio_underruns",
    "audio_xruns",
    "audio_late_notes",
    "events_in_per_s",
    "events_out_per_s",
    "internal_errors",
    "stage_commands",
    "stage_refused",
)


def asset(name: str) -> bytes:
    return resources.files("liveai.stage").joinpath(name).read_bytes()


class StagePart:
    """Mounted on the web transport (`liveai.transports.web.Part`)."""

    def __init__(
        self, config: Config, engine: Engine, table: CommandTable, status: Callable[[], dict[str, Any]]
    ) -> None:
        self.config = config
        self.engine = engine
        self.table = table
        self.stats = engine.stats
        self._status = status
        self.clients: set[Client] = set()
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY_MAX)
        self._commands = RateLimit(MAX_COMMANDS_PER_S)
        self._error_frames = RateLimit(config.osc.max_errors_per_s)
        self._log_refused = LogThrottle(log, "refusals")
        self._health: asyncio.Task[None] | None = None
        self.counts = {"stage_commands": 0, "stage_refused": 0}
        self._paths = {f"/view/{name}" for name in ASSETS}
        self._played: set[str] = set()  # pages that played notes
        self.learn: list[Any] | None = None  # the latest /liveai/out/learn, for a page that connects later
        engine.input_taps.append(self.tap)  # once: the port may be opened again

    # -- Part ----------------------------------------------------------------------------
    def mount(self, app: web.Application, web_transport: WebTransport) -> None:
        self.web = web_transport
        app.router.add_get("/view", self._page)
        app.router.add_get("/view/socket", self._socket)
        for name in ASSETS:
            app.router.add_get(f"/view/{name}", self._asset)
        # The page's code holds no secret: a browser fetches it without the token beyond loopback.
        web_transport.public.append(lambda request: request.path in self._paths)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)

    def send(self, event: Event) -> None:
        """liveai's output: its notes and the state, as they go out."""
        if isinstance(event, (NoteOn, NoteOff)):
            self._note(note_item(event, "liveai"))
        elif isinstance(event, StateChanged):
            self._push({"k": "state", "name": event.name, "value": event.value})
        elif isinstance(event, Report) and event.name == "learn":
            self.learn = list(event.args)
            self._push({"k": "learn", "args": self.learn})

    def report(self) -> dict[str, Any]:
        return dict(self.counts)

    # -- what the engine says ---------------------------------------------------------------
    def tap(self, event: Event) -> None:
        """The player's notes as they arrive (engine.input_taps)."""
        if isinstance(event, (NoteOn, NoteOff)):
            self._note(note_item(event, "player"))

    def planned(self, event: NoteOn | NoteOff) -> None:
        self._push(plan_item(event))

    def withdrawn(self, events: list[NoteOn | NoteOff]) -> None:
        for event in events:
            self._push(plan_item(event, "withdraw"))

    def _note(self, item: dict[str, Any]) -> None:
        self.history.append(item)
        self._push(item)

    def _push(self, item: dict[str, Any]) -> None:
        for client in self.clients:
            client.push(item)

    # -- health -------------------------------------------------------------------------------
    async def _start(self, app: web.Application) -> None:
        self._health = asyncio.get_running_loop().create_task(self._beat_health())

    async def _stop(self, app: web.Application) -> None:
        if self._health is not None:
            self._health.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._health

    async def _beat_health(self) -> None:
        while True:
            await asyncio.sleep(HEALTH_S)
            if self.clients:
                try:
                    self._push(self.health())
                except Exception as exc:  # the next beat tries again; the music never hears of it
                    self.engine.faults("the stage page's health", exc)

    def health(self) -> dict[str, Any]:
        status = self._status()
        now = time.monotonic()
        figures = {key: status[key] for key in _HEALTH_KEYS if key in status}
        models = {
            key[len("model_") : -len("_device")]: value
            for key, value in status.items()
            if key.startswith("model_") and key.endswith("_device")
        }
        return {
            "k": "health",
            **figures,
            "models": models,
            "latency_edges_ms": LATENCY_EDGES_MS,
            "latency_histogram": self.stats.latency_histogram(now, LATENCY_EDGES_MS),
            "refusals": [
                {"ago_s": round(now - t, 1), "source": source, "code": code, "message": message}
                for t, source, code, message in reversed(self.stats.refusals)
            ],
        }

    def hello(self) -> dict[str, Any]:
        """What a page gets first: the state, recent notes, the plan, how liveai is set up."""
        now = time.monotonic()
        c = self.config
        return {
            "k": "hello",
            "state": dict(self.engine.state),
            "notes": [item for item in self.history if item["t"] >= now - HISTORY_S],
            "plan": [plan_item(event) for event in self.engine.output.plan()],
            "learn": self.learn,
            "setup": {
                "audio": c.audio.enabled,
                "audio_play": c.audio.play,
                "model": c.model.continuation,
                "device": c.model.device,
                "sessions": c.server.sessions,
                "osc_port": c.osc.port,
            },
        }

    # -- requests ---------------------------------------------------------------------------------
    async def _page(self, request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=asset("index.html"),
            content_type="text/html",
            charset="utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    async def _asset(self, request: web.Request) -> web.StreamResponse:
        name = request.path[len("/view/") :]
        return web.Response(
            body=asset(name),
            content_type=ASSETS[name],
            charset="utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        host, port = (
            (request.transport.get_extra_info("peername") or ("?", 0))[:2] if request.transport else ("?", 0)
        )
        player = f"ws:{host}:{port}"  # each page is a player of its own, as each OSCQuery socket
        return await self.web.websocket(
            request,
            pack,
            lambda client, data: self.command(client, player, data),
            on_open=lambda client: self._joined(client, player),
        )

    def _joined(self, client: Client, player: str) -> Callable[[], None]:
        client.push(self.hello())
        client.push(self.health())
        self.clients.add(client)
        self.engine.output.watch = self  # the plan is watched only while a page is open

        def left() -> None:
            self.clients.discard(client)
            if not self.clients:
                self.engine.output.watch = None
            if player in self._played:  # its keys held (or a MIDI keyboard's through it) go up
                self._played.discard(player)
                self.engine.handle(InputLost(t=time.monotonic(), source=player))

        return left

    # -- commands from a page -------------------------------------------------------------------
    def command(self, client: Client, player: str, data: Frame) -> None:
        arrival = time.monotonic()
        request = Request(player, arrival, PageReplies(self, client, player))
        self.counts["stage_commands"] += 1
        try:
            if self._commands.allow(str(id(client)), arrival):
                address, args = parse_command(data, self.config.osc)
            else:
                address, args = self.urgent(data)
            self.stats.count("messages_in")
            if address == "/liveai/note":
                self._played.add(player)
            self.table.dispatch(address, args, request)
        except CommandError as exc:
            self.refuse(request, "", exc)
        except CommandFault as exc:  # counted in internal_errors where it was contained
            self.answer(client, player, exc.code, exc.message)

    def urgent(self, data: Frame) -> tuple[str, list[Any]]:
        """Past the rate only what silences goes on (a note-off refused would hang)."""
        busy = CommandError("busy", f"more than {MAX_COMMANDS_PER_S:g} commands a second from one page")
        try:
            address, args = parse_command(data, self.config.osc)
        except CommandError:
            raise busy from None
        if not silences(address, args):
            raise busy
        return address, args

    def refuse(self, request: Request, command: str, error: CommandError) -> None:
        self.counts["stage_refused"] += 1
        message = clip(error.message, self.config.osc.max_echo_chars)
        self.stats.refused(request.arrival, request.source, error.code, message)
        replies = request.replies
        assert isinstance(replies, PageReplies)
        self.answer(replies.client, replies.peer, error.code, message)

    def answer(self, client: Client, peer: str, code: str, message: str) -> None:
        """An error frame, at most `osc.max_errors_per_s` a second to one page."""
        now = time.monotonic()
        if not self._error_frames.allow(str(id(client)), now):
            self.stats.count("errors_unanswered")
            return
        self._log_refused(now, "refused from %s: %s %s", peer, code, message)
        client.push({"k": "error", "code": code, "message": clip(message, self.config.osc.max_echo_chars)})


def silences(address: str, args: list[Any]) -> bool:
    """A note-off, a panic or a stop: never refused for the rate, or a note would hang."""
    if address in ("/liveai/panic", "/liveai/stop"):
        return True
    return address == "/liveai/note" and len(args) >= 2 and args[1] == 0


class PageReplies:
    """How a command answers a page (`core.commands.Replies`)."""

    def __init__(self, part: StagePart, client: Client, peer: str) -> None:
        self.part = part
        self.client = client
        self.peer = peer

    def reply(self, address: str, *args: Any) -> None:
        self.client.push({"k": "reply", "address": address, "args": list(args)})

    def refuse(self, request: Request, command: str, error: CommandError) -> None:
        self.part.refuse(request, command, error)

    def subscribe(self, host: str, port: int) -> None:
        raise CommandError("unsupported", "subscribe is an OSC command: the page hears everything already")

    def unsubscribe(self, host: str, port: int) -> None:
        raise CommandError("unsupported", "unsubscribe is an OSC command")

    def status(self) -> dict[str, Any]:
        return self.part._status()
