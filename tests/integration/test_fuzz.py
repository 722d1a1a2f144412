"""10,000 random and malformed datagrams: every bad one is counted and answered, the
server keeps playing. Seeded, so a failure can be replayed."""

from __future__ import annotations

import random
import struct

from liveai.bench.harness import osc_message

SEED = 20261122
KNOWN = ["/liveai/note", "/liveai/cc", "/liveai/mode", "/liveai/temperature", "/liveai/tempo",
         "/liveai/morph", "/liveai/ping", "/liveai/subscribe", "/liveai/continue", "/liveai/panic"]


def garbage(rng: random.Random) -> bytes:
    """Bytes that are neither a message (no leading '/') nor a bundle."""
    data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
    return bytes([rng.choice(b"abcXYZ\x00\x01\xff,#")]) + data if data[:1] in (b"/", b"#") else data


def unknown_address(rng: random.Random) -> bytes:
    path = "/" + "/".join(rng.choice(["liveai", "foo", "note", "x1", "out", "liveaix"]) for _ in range(rng.randrange(1, 4)))
    if path in KNOWN or path in ("/liveai/play", "/liveai/stop", "/liveai/status", "/liveai/unsubscribe"):
        path += "/nope"
    args = [rng.choice([1, 2.5, "s", b"blob"]) for _ in range(rng.randrange(0, 4))]
    return osc_message(path, *args)


def bad_args(rng: random.Random) -> bytes:
    """Known addresses with wrong types or too many arguments."""
    address = rng.choice(["/liveai/note", "/liveai/cc", "/liveai/tempo", "/liveai/temperature", "/liveai/morph"])
    kind = rng.randrange(3)
    if kind == 0:
        return osc_message(address, "text", 1)[:] if address in ("/liveai/note", "/liveai/cc") else osc_message(address, "fast")
    if kind == 1:
        return osc_message(address, b"\x01\x02")
    return osc_message(address, 1, 2, 3, 4, 5)


def bad_value(rng: random.Random) -> bytes:
    """Refused (not clamped) values: pitches, velocities and modes out of range."""
    kind = rng.randrange(3)
    if kind == 0:
        return osc_message("/liveai/note", rng.randrange(128, 100000), 100)
    if kind == 1:
        return osc_message("/liveai/note", 60, -rng.randrange(1, 500))
    return osc_message("/liveai/mode", rng.choice(["jazz", "", "HARMONIZE", "free"]))


def bad_bundle(rng: random.Random) -> bytes:
    """A bundle header with a broken element size or content."""
    body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
    size = rng.choice([len(body) + 8, 1 << 30, 3])
    return b"#bundle\x00" + struct.pack(">Q", 1) + struct.pack(">i", size) + body


def test_ten_thousand_bad_datagrams(start_server):
    rng = random.Random(SEED)
    _, peer = start_server()
    plan = [("malformed", garbage)] * 2500 + [("unknown_address", unknown_address)] * 2000 \
        + [("bad_args", bad_args)] * 2000 + [("bad_value", bad_value)] * 1500 + [("malformed", bad_bundle)] * 1000
    rng.shuffle(plan)
    notes = 1000  # valid note on/off pairs interleaved: the music goes on
    datagrams = [(kind, make(rng)) for kind, make in plan]
    for i in range(notes):
        datagrams.insert(rng.randrange(len(datagrams)), ("note", osc_message("/liveai/note", 60 + i % 12, 0 if i % 2 else 90)))
    assert len(datagrams) == 10_000
    for start in range(0, len(datagrams), 250):
        for _, data in datagrams[start:start + 250]:
            peer.send_raw(data)
        peer.wait_pong(start, timeout=5)  # paced, so the kernel never drops a datagram
    status = peer.status()
    expected = {kind: sum(1 for k, _ in datagrams if k == kind) for kind in ("malformed", "unknown_address", "bad_args", "bad_value")}
    assert {kind: status[kind] for kind in expected} == expected
    assert status["errors"] == sum(expected.values())
    assert status["events_in"] == notes
    peer.send("/liveai/ping", "still here")
    assert peer.expect("/liveai/pong") == ["still here"]
    peer.send("/liveai/panic")
    peer.drain()
    assert peer.status()["sounding_notes"] == 0


def test_mutated_messages_never_stop_the_server(start_server):
    """Byte flips of valid messages: outcomes vary, but each is a note, an answer or a counted error."""
    rng = random.Random(SEED + 1)
    _, peer = start_server()
    valid = [osc_message(a, *args) for a, args in [("/liveai/note", (60, 100)), ("/liveai/cc", (1, 64)),
                                                    ("/liveai/mode", ("thru",)), ("/liveai/tempo", (90.0,))]]
    for start in range(0, 2000, 250):
        for _ in range(250):
            data = bytearray(rng.choice(valid))
            for _ in range(rng.randrange(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            peer.send_raw(bytes(data[: rng.randrange(1, len(data) + 1)]))
        peer.wait_pong(start, timeout=5)
    status = peer.status()
    assert status["errors"] == sum(status[k] for k in ("malformed", "unknown_address", "bad_args", "bad_value"))
    assert status["errors"] + status["events_in"] <= 2000
    assert status.get("internal", 0) == 0
