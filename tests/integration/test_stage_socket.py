"""The stage page's websocket under abuse, over real sockets to a real `liveai serve`: a
page that stops reading is dropped and counted while the music plays on; bad frames and
floods are answered with error frames, counted, and hurt no other page."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
import time
from pathlib import Path

import aiohttp

from liveai.bench.harness import osc_message

FLAKY = Path(__file__).parents[1] / "peers" / "flaky_server.py"


def slow_page(port: int) -> socket.socket:
    """A websocket client that upgrades, then never reads (a tiny receive buffer fills at once)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        f"GET /view/socket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    assert sock.recv(12) == b"HTTP/1.1 101"
    return sock


def flood_notes(osc_port: int, stop: threading.Event, rate: float = 2000) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    start, n = time.monotonic(), 0
    while not stop.is_set():
        if n < (time.monotonic() - start) * rate:
            pitch = 36 + n % 48
            sock.sendto(osc_message("/liveai/note", pitch, 100), ("127.0.0.1", osc_port))
            sock.sendto(osc_message("/liveai/note", pitch, 0), ("127.0.0.1", osc_port))
            n += 1
        else:
            time.sleep(0.001)
    sock.close()


def test_a_page_that_stops_reading_is_dropped_while_the_music_plays_on(start_server):
    server, peer = start_server("server.mode=thru")
    slow = slow_page(server.web_port)
    stop = threading.Event()
    flood = threading.Thread(target=flood_notes, args=(peer.server[1], stop))
    try:
        flood.start()
        # the status reply queues behind the flood's answers: waited for, not timed
        deadline, status = time.monotonic() + 20, peer.status(timeout=10)
        while status["web_clients_dropped"] == 0 and time.monotonic() < deadline:
            time.sleep(0.5)
            status = peer.status(timeout=10)
        assert status["web_clients_dropped"] == 1, "the page that stopped reading is cut off and counted"
        assert status["events_out_per_s"] > 100, "the notes kept being answered meanwhile"
        stop.set()
        flood.join()
        time.sleep(0.3)
        peer.drain()
        assert peer.status()["web_clients"] == 0
        peer.send("/liveai/note", 60, 100)
        assert peer.expect("/liveai/out/note") == [60, 100, 1]
        peer.send("/liveai/note", 60, 0)
    finally:
        stop.set()
        slow.close()


async def frames(ws: aiohttp.ClientWebSocketResponse, until, timeout: float = 5.0) -> list[dict]:
    """Items from the server until `until(item)` holds for one (or the time is up)."""
    items: list[dict] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            message = await ws.receive(timeout=end - time.monotonic())
        except TimeoutError:
            break
        if message.type != aiohttp.WSMsgType.TEXT:
            break
        items += json.loads(message.data)
        if any(until(item) for item in items):
            break
    return items


async def test_bad_frames_and_floods_get_error_frames_are_counted_and_hurt_no_other_page(start_server):
    server, peer = await asyncio.to_thread(start_server, "server.mode=harmonize")
    url = f"http://127.0.0.1:{server.web_port}/view/socket"
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url) as bad,
        session.ws_connect(url) as good,
    ):
        hello = await frames(good, lambda item: item["k"] == "hello")
        assert any(item["k"] == "hello" for item in hello)
        cases = {
            "{not json": "malformed",
            "[1, 2]": "malformed",
            json.dumps({"address": "/liveai/mode", "args": "duet"}): "malformed",
            json.dumps({"address": "/liveai/mode", "args": [{"x": 1}]}): "malformed",
            json.dumps({"address": "/liveai/nowhere"}): "unknown_address",
            json.dumps({"address": "/liveai/" + "x" * 2000}): "too_large",
            json.dumps({"address": "/liveai/note", "args": [60] * 40}): "too_large",
            json.dumps({"address": "/liveai/temperature", "args": ["hot"]}): "bad_args",
            json.dumps({"address": "/liveai/subscribe"}): "unsupported",
        }
        for frame, code in cases.items():
            await bad.send_str(frame)
            answer = await frames(bad, lambda item: item["k"] == "error")
            errors = [item for item in answer if item["k"] == "error"]
            assert errors and errors[0]["code"] == code, (frame[:60], errors)
        before = await asyncio.to_thread(peer.status)
        for _ in range(1000):  # a flood: every frame counted, a few answered
            await bad.send_str("{flood")
        await asyncio.sleep(1.1)  # past the page's rate limit's second
        await bad.send_str(json.dumps({"address": "/liveai/mode", "args": ["thru"]}))
        seen = await frames(good, lambda item: item["k"] == "state" and item["value"] == "thru")
        assert {"k": "state", "name": "mode", "value": "thru"} in seen, (
            "the flooding page's next command still runs"
        )
        status = await asyncio.to_thread(peer.status)
        assert status["errors"] - before["errors"] == 1000  # each refused: malformed, or busy past the rate
        assert status["malformed"] - before["malformed"] >= 1 and status["busy"] - before["busy"] >= 1
        assert status["errors_unanswered"] - before["errors_unanswered"] >= 900  # osc.max_errors_per_s
        assert status["stage_refused"] >= 1000 + len(cases)
        peer.send("/liveai/note", 64, 100)  # the other page, and OSC, go on as before
        notes = await frames(good, lambda item: item["k"] == "note" and item["p"] == 64)
        assert any(item["k"] == "note" and item["who"] == "player" and item["p"] == 64 for item in notes)
        peer.send("/liveai/note", 64, 0)
        assert not bad.closed and not good.closed


async def test_a_page_closed_with_keys_held_lets_them_go(start_server):
    """A tab closed (or a browser quit) while its keys, or a MIDI keyboard through it, hold notes."""
    server, peer = await asyncio.to_thread(start_server, "server.mode=thru")
    url = f"http://127.0.0.1:{server.web_port}/view/socket"
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as page:
            await frames(page, lambda item: item["k"] == "hello")
            for pitch in (60, 64):
                await page.send_str(json.dumps({"address": "/liveai/note", "args": [pitch, 100]}))
            ons: set[int] = set()  # both echoed: a status over UDP could overtake the page's second note
            while len(ons) < 2:
                ons.add((await asyncio.to_thread(peer.expect, "/liveai/out/note"))[0])
            assert ons == {60, 64}
            assert (await asyncio.to_thread(peer.status))["sounding_notes"] == 2
    offs: set[int] = set()
    end = time.monotonic() + 5
    while len(offs) < 2 and time.monotonic() < end:
        message = await asyncio.to_thread(peer.receive, 0.5)
        if message and message[0] == "/liveai/out/note" and message[1][1] == 0:
            offs.add(message[1][0])
    assert offs == {60, 64}
    assert (await asyncio.to_thread(peer.status))["sounding_notes"] == 0


async def test_past_the_page_rate_a_note_off_still_goes_through(start_server):
    server, peer = await asyncio.to_thread(start_server, "server.mode=thru")
    url = f"http://127.0.0.1:{server.web_port}/view/socket"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as page:
        await frames(page, lambda item: item["k"] == "hello")
        for _ in range(450):  # then 40 notes, and their note-offs past the 500 a second a page may send
            await page.send_str(json.dumps({"address": "/liveai/temperature", "args": [0.5]}))
        for pitch in range(40, 80):
            await page.send_str(json.dumps({"address": "/liveai/note", "args": [pitch, 100]}))
        for pitch in range(40, 80):
            await page.send_str(json.dumps({"address": "/liveai/note", "args": [pitch, 0]}))
        await page.send_str(json.dumps({"address": "/liveai/density", "args": [0.5]}))
        refused = await frames(page, lambda item: item["k"] == "error" and item["code"] == "busy")
        assert any(item["k"] == "error" and item["code"] == "busy" for item in refused), "past the rate"
        await asyncio.sleep(0.3)
        status = await asyncio.to_thread(peer.status)
        assert status["sounding_notes"] == 0, "no note-off was refused"


async def test_a_command_that_fails_inside_liveai_is_answered_internal_and_the_page_goes_on(start_server):
    """A bug in a command's handler (tests/peers/flaky_server.py: the temperature's
    raises, after its work) is contained: the page gets an `internal` error frame, the
    fault is counted, and the page's next command runs."""
    server, peer = await asyncio.to_thread(
        start_server,
        "server.mode=thru",
        env={"FLAKY_COMMAND": "/liveai/temperature"},
        command=(sys.executable, str(FLAKY), "1"),
    )
    url = f"http://127.0.0.1:{server.web_port}/view/socket"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as page:
        await frames(page, lambda item: item["k"] == "hello")
        before = await asyncio.to_thread(peer.status)
        await page.send_str(json.dumps({"address": "/liveai/temperature", "args": [0.5]}))
        answer = await frames(page, lambda item: item["k"] == "error")
        errors = [item for item in answer if item["k"] == "error"]
        assert errors and errors[0]["code"] == "internal", answer
        after = await asyncio.to_thread(peer.status)
        assert after["internal_errors"] - before["internal_errors"] == 1
        await page.send_str(json.dumps({"address": "/liveai/density", "args": [0.25]}))
        seen = await frames(page, lambda item: item["k"] == "state" and item.get("name") == "density")
        assert {"k": "state", "name": "density", "value": 0.25} in seen, seen
        assert not [item for item in seen if item["k"] == "error"]
