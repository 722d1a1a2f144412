"""`liveai bench --flood`: a live server under a flood of hostile OSC, pinged meanwhile.

Datagrams of every kind (garbage, unknown addresses, wrong arguments, refused values,
broken and oversized bundles, unsupported type tags, 60 KB strings, byte-flipped
messages, note pairs that end what they start) go to `liveai serve` at a steady rate
from one socket while another pings every 10 ms. Afterwards every key is released
(note-offs and pedal up on every channel) and the server's counters must add up: every
datagram arrived, each was refused as malformed or too much, or decoded into messages,
and nothing sounds. Figures, not pass/fail: the ping round trip during the flood.
"""

from __future__ import annotations

import random
import struct
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from .harness import (
    OscAnswers,
    OscPeer,
    ServerProcess,
    ask_status,
    free_port,
    ping_round_trip,
    summarize,
    wait_pong,
)
from .harness import osc_message as message

Make = Callable[[random.Random], bytes]


def _bundle(*elements: bytes) -> bytes:
    return b"#bundle\x00" + struct.pack(">Q", 1) + b"".join(struct.pack(">i", len(e)) + e for e in elements)


def _raw(address: str, tags: str, payload: bytes = b"") -> bytes:
    def pad(b: bytes) -> bytes:
        return b + b"\x00" * (4 - len(b) % 4)

    return pad(address.encode()) + pad(("," + tags).encode()) + payload


KINDS: dict[str, Make] = {
    "garbage": lambda r: (
        bytes([r.choice(b"abc\x00\xff")]) + bytes(r.randrange(256) for _ in range(r.randrange(1, 64)))
    ),
    "unknown address": lambda r: message("/liveai/" + r.choice(["nope", "notes", "x" * 60000]), 1),
    "wrong arguments": lambda r: message(
        r.choice(["/liveai/note", "/liveai/tempo"]), r.choice(["fast", b"\x01"])
    ),
    "refused value": lambda r: message("/liveai/note", r.randrange(128, 100000), 100),
    "unsupported tag": lambda r: _raw("/liveai/ping", r.choice(["I", "c", "q"]), b"\x00\x00\x00\x41"),
    "huge bundle": lambda r: _bundle(*[message("/liveai/ping", i) for i in range(r.randrange(200, 2000))]),
    "broken bundle": lambda r: (
        b"#bundle\x00" + struct.pack(">Q", 1) + struct.pack(">i", r.choice([-4, 3, 1 << 30]))
    ),
    "nested bundle": lambda r: _bundle(_bundle(message("/liveai/temperature", r.random() * 2))),
    "flipped": lambda r: _flip(r, message(r.choice(["/liveai/tempo", "/liveai/density"]), 90.0)),
    "long token": lambda r: message("/liveai/ping", "y" * 60000),
}


def _flip(r: random.Random, data: bytes) -> bytes:
    flipped = bytearray(data)
    for _ in range(r.randrange(1, 4)):
        flipped[r.randrange(len(flipped))] = r.randrange(256)
    return bytes(flipped)


def plan(count: int, seed: int = 20261201) -> list[bytes]:
    """`count` datagrams: the hostile kinds in turn, with note pairs among them."""
    r = random.Random(seed)
    out: list[bytes] = []
    kinds = list(KINDS.values())
    while len(out) < count:
        if r.random() < 0.2:
            pitch, channel = r.randrange(48, 84), r.randrange(1, 17)
            out += [message("/liveai/note", pitch, 90, channel), message("/liveai/note", pitch, 0, channel)]
        else:
            out.append(kinds[len(out) % len(kinds)](r))
    return out[:count]


def release_everything(peer: OscPeer) -> int:
    """What a player lifting the pedal and every key would send, in bundles; how many."""
    pedals = [message("/liveai/cc", 64, 0, ch) for ch in range(1, 17)]
    offs = [message("/liveai/note", p, 0, ch) for ch in range(1, 17) for p in range(128)]
    bundles = [_bundle(*pedals)] + [_bundle(*offs[i : i + 64]) for i in range(0, len(offs), 64)]
    for data in bundles:
        peer.send_raw(data)
        time.sleep(0.001)
    return len(bundles)


def bench_flood(count: int = 20000, rate: float = 4000.0, mode: str = "thru") -> dict[str, Any]:
    datagrams = plan(count)
    with ExitStack() as stack:
        answers = OscAnswers()
        stack.callback(answers.close)
        port = free_port()
        server = ServerProcess(
            [
                f"osc.port={port}",
                f'osc.targets=["127.0.0.1:{answers.port}"]',
                "midi.api=none",
                f"server.mode={mode}",
                'model.continuation=""',
            ]
        ).start()
        stack.callback(server.stop)
        peer = stack.enter_context(OscPeer(port))
        wait_pong(peer.send, answers, "up", timeout=15)
        answers.drain()
        before = ask_status(peer.send, answers, timeout=5)
        flooder = stack.enter_context(OscPeer(port))
        rtts: list[float] = []
        pings = [0]
        done = threading.Event()

        def ping() -> None:  # another client, pinging while the flood goes on
            with OscPeer(port) as pinger:
                while not done.is_set():
                    rtt = ping_round_trip(pinger.send, answers, pings[0])
                    pings[0] += 1
                    if rtt is not None:
                        rtts.append(rtt)
                    time.sleep(0.01)

        pinger = threading.Thread(target=ping, daemon=True)
        pinger.start()
        started = time.perf_counter()
        for i, data in enumerate(datagrams):
            wait = started + i / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            flooder.send_raw(data)
        elapsed = time.perf_counter() - started
        done.set()
        pinger.join()
        released = release_everything(flooder)
        time.sleep(0.5)
        answers.drain()
        after = ask_status(peer.send, answers, timeout=5)
    counters = (
        "datagrams_in",
        "messages_in",
        "errors",
        "malformed",
        "too_large",
        "unknown_address",
        "bad_args",
        "bad_value",
        "busy",
        "internal_errors",
        "errors_unanswered",
        "events_in",
    )
    return {
        "datagrams": count,
        "achieved_rate": round(count / elapsed, 1),
        "ping_during_flood": summarize(rtts, pings[0], pings[0] - len(rtts)),
        # what this run sent: the flood, the pings, the release and the last status request
        "datagrams_sent": count + pings[0] + released + 1,
        "server": {k: after[k] - before[k] for k in counters},
        "sounding_notes_after_release": after["sounding_notes"],
    }
