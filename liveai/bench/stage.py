"""`liveai bench --play --pages N`: what open stage pages cost the music.

One server harmonizes (by the harmony model, the continuation model on the worker) at a
steady rate over OSC; in turns, no page is connected, then N websocket clients read the
stage page's feed (/view/socket) as a page does, each frame parsed. The note-in to
first-harmony-out round trips and deadline misses of the turns with pages are set
against those without, in the same run.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from contextlib import ExitStack
from typing import Any

import aiohttp

from .harness import free_port, summarize
from .play import ChannelRoundTrip, PlayServer, osc_sender, play_notes


class Pages:
    """N websocket clients reading the stage feed on a thread of their own."""

    def __init__(self, port: int, count: int) -> None:
        self.url = f"http://127.0.0.1:{port}/view/socket"
        self.count = count
        self.frames = 0
        self.items = 0
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> Pages:
        self._thread.start()
        if not self._ready.wait(10):
            raise TimeoutError(f"{self.count} pages did not connect to {self.url}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _run(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        async with aiohttp.ClientSession() as session:
            sockets = [await session.ws_connect(self.url) for _ in range(self.count)]
            readers = [asyncio.create_task(self._read(ws)) for ws in sockets]
            self._ready.set()
            await self._stop.wait()
            for ws in sockets:
                await ws.close()
            await asyncio.gather(*readers, return_exceptions=True)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.frames += 1
                self.items += len(json.loads(message.data))


def _turn(
    srv: PlayServer, send: Any, trip: ChannelRoundTrip, rate: float, seconds: float, figures: dict[str, Any]
) -> None:
    """Play one turn and add its round trips and misses to `figures` (pooled per condition)."""
    misses = srv.status()["deadline_misses"]
    trip.reset()
    play_notes([send], trip, rate, seconds, channels=16)
    time.sleep(0.3)
    figures["latencies"] += trip.latencies
    figures["sent"] += int(rate * seconds)
    figures["lost"] += trip.lost()
    figures["deadline_misses"] += srv.status()["deadline_misses"] - misses


def bench_stage_cost(
    model: str, pages: int, seconds: float, rate: float = 200.0, turns: int = 3
) -> dict[str, Any]:
    """Harmonize round trips with no page and with `pages` pages, alternating `turns` times."""
    with ExitStack() as stack:
        web_port = free_port(socket.SOCK_STREAM)
        srv = PlayServer(
            stack, model, ["server.mode=harmonize", "harmonize.by=harmony", f"web.port={web_port}"]
        )
        trip = ChannelRoundTrip()
        srv.answers.round_trip = trip
        send, sock = osc_sender(srv.port)
        stack.callback(sock.close)
        play_notes([send], trip, 50, 1.0, channels=16)  # warm-up
        pooled = {
            name: {"latencies": [], "sent": 0, "lost": 0, "deadline_misses": 0} for name in ("none", "pages")
        }
        fed = {"frames": 0, "items": 0}
        for _ in range(turns):
            _turn(srv, send, trip, rate, seconds, pooled["none"])
            with Pages(web_port, pages) as feed:
                _turn(srv, send, trip, rate, seconds, pooled["pages"])
                fed["frames"] += feed.frames
                fed["items"] += feed.items
        dropped = srv.status()["web_clients_dropped"]
    out: dict[str, Any] = {
        "rate_notes_per_s": rate,
        "seconds_per_turn": seconds,
        "turns": turns,
        "pages": pages,
    }
    for name, figures in pooled.items():
        entry = summarize(figures["latencies"], figures["sent"], figures["lost"])
        entry["deadline_misses"] = figures["deadline_misses"]
        out["no_page" if name == "none" else f"{pages}_pages"] = entry
    with_pages, without = out[f"{pages}_pages"], out["no_page"]
    if "p99_ms" in with_pages and "p99_ms" in without and without["p99_ms"] > 0:
        out["p99_ratio_pages_to_none"] = round(with_pages["p99_ms"] / without["p99_ms"], 3)
        out["p50_ratio_pages_to_none"] = round(with_pages["p50_ms"] / without["p50_ms"], 3)
    out["page_frames_read"] = fed["frames"]
    out["page_items_read"] = fed["items"]
    out["web_clients_dropped"] = dropped
    return out
