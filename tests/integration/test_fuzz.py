"""Hostile OSC: a coverage-guided fuzzer on the intake in process (20,000 inputs), a
live flood that is pinged meanwhile, and 10,000 bad datagrams of known kinds each
counted as what it is. The server keeps playing, the counters add up, and once every
key is up nothing sounds. Seeded, so a failure can be replayed."""

from __future__ import annotations

import random
import re
import struct
import subprocess
import sys
from pathlib import Path

from liveai.bench.flood import bench_flood
from liveai.bench.harness import osc_message

ROOT = Path(__file__).parents[2]

SEED = 20261122
KNOWN = [
    "/liveai/note",
    "/liveai/cc",
    "/liveai/mode",
    "/liveai/temperature",
    "/liveai/tempo",
    "/liveai/morph",
    "/liveai/ping",
    "/liveai/subscribe",
    "/liveai/continue",
    "/liveai/panic",
]


def garbage(rng: random.Random) -> bytes:
    """Bytes that are neither a message (no leading '/') nor a bundle."""
    data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
    return bytes([rng.choice(b"abcXYZ\x00\x01\xff,#")]) + data if data[:1] in (b"/", b"#") else data


def unknown_address(rng: random.Random) -> bytes:
    path = "/" + "/".join(
        rng.choice(["liveai", "foo", "note", "x1", "out", "liveaix"]) for _ in range(rng.randrange(1, 4))
    )
    if path in KNOWN or path in ("/liveai/play", "/liveai/stop", "/liveai/status", "/liveai/unsubscribe"):
        path += "/nope"
    args = [rng.choice([1, 2.5, "s", b"blob"]) for _ in range(rng.randrange(0, 4))]
    return osc_message(path, *args)


def bad_args(rng: random.Random) -> bytes:
    """Known addresses with wrong types or too many arguments."""
    address = rng.choice(
        ["/liveai/note", "/liveai/cc", "/liveai/tempo", "/liveai/temperature", "/liveai/morph"]
    )
    kind = rng.randrange(3)
    if kind == 0:
        return (
            osc_message(address, "text", 1)[:]
            if address in ("/liveai/note", "/liveai/cc")
            else osc_message(address, "fast")
        )
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
    """A well-formed bundle around a broken message, or a bundle with a broken size."""
    if rng.random() < 0.5:
        inner = b"/x" + bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 40)))  # never terminated
        inner += b"\x01" * (-len(inner) % 4)
        return b"#bundle\x00" + struct.pack(">Q", 1) + struct.pack(">i", len(inner)) + inner
    body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
    size = rng.choice([len(body) + 8, 1 << 30, 3, -4])
    return b"#bundle\x00" + struct.pack(">Q", 1) + struct.pack(">i", size) + body


def test_ten_thousand_bad_datagrams(start_server):
    rng = random.Random(SEED)
    _, peer = start_server()
    plan = (
        [("malformed", garbage)] * 1000
        + [("unknown_address", unknown_address)] * 2500
        + [("bad_args", bad_args)] * 2500
        + [("bad_value", bad_value)] * 1500
        + [("malformed", bad_bundle)] * 1500
    )
    rng.shuffle(plan)
    datagrams = [(kind, make(rng)) for kind, make in plan]
    notes = 1000  # valid note-on/note-off pairs among them, in order: the music goes on
    for i in range(0, notes, 2):
        at, pitch = rng.randrange(len(datagrams) + 1), 60 + (i // 2) % 12
        datagrams[at:at] = [
            ("note", osc_message("/liveai/note", pitch, 90)),
            ("note", osc_message("/liveai/note", pitch, 0)),
        ]
    assert len(datagrams) == 10_000
    for start in range(0, len(datagrams), 250):
        for _, data in datagrams[start : start + 250]:
            peer.send_raw(data)
        peer.wait_pong(start, timeout=5)  # paced, so the kernel never drops a datagram
    status = peer.status()
    expected = {
        kind: sum(1 for k, _ in datagrams if k == kind)
        for kind in ("malformed", "unknown_address", "bad_args", "bad_value")
    }
    assert {kind: status[kind] for kind in expected} == expected
    assert status["errors"] == sum(expected.values())
    assert status["events_in"] == notes
    assert status["datagrams_in"] >= 10_000 and status["internal_errors"] == 0
    assert status["sounding_notes"] == 0  # every note-on met its note-off: nothing sounds, no panic needed
    peer.send("/liveai/ping", "still here")
    assert peer.expect("/liveai/pong") == ["still here"]


def test_mutated_messages_never_stop_the_server(start_server):
    """Byte flips of valid messages: outcomes vary, but each is a note, an answer or a counted error."""
    rng = random.Random(SEED + 1)
    _, peer = start_server()
    valid = [
        osc_message(a, *args)
        for a, args in [
            ("/liveai/note", (60, 100)),
            ("/liveai/cc", (1, 64)),
            ("/liveai/mode", ("thru",)),
            ("/liveai/tempo", (90.0,)),
        ]
    ]
    for start in range(0, 2000, 250):
        for _ in range(250):
            data = bytearray(rng.choice(valid))
            for _ in range(rng.randrange(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            peer.send_raw(bytes(data[: rng.randrange(1, len(data) + 1)]))
        peer.wait_pong(start, timeout=5)
    status = peer.status()
    kinds = ("malformed", "too_large", "unknown_address", "bad_args", "bad_value", "busy")
    assert status["errors"] == sum(status[k] for k in kinds) and status["internal_errors"] == 0
    # every datagram arrived; each was refused whole or decoded into its one message
    pings = status["datagrams_in"] - 2000 - 1  # wait_pong's pings (and this status request)
    assert status["malformed"] + status["too_large"] + status["messages_in"] - pings - 1 == 2000


def test_the_coverage_guided_fuzzer_finds_nothing(tmp_path):
    """scripts/fuzz_osc.py under libFuzzer: no exception leaves the endpoint and no note
    outlives its note-off, over 20,000 inputs grown from valid datagrams (a CI-sized run:
    scripts/fuzz_osc.py -runs=N runs longer)."""
    stats = tmp_path / "stats.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "fuzz_osc.py"),
            "-runs=20000",
            "-seed=1",
            f"-artifact_prefix={tmp_path}/",
            "--stats",
            str(stats),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    final = re.search(r"#(\d+)\s+DONE\s+cov: (\d+)", done.stderr)
    assert final and int(final.group(1)) == 20000 and int(final.group(2)) > 500, done.stderr[-2000:]
    print(final.group(0), stats.read_text())


def test_a_flood_does_not_silence_the_server(start_server):
    """A CI-sized run of `liveai bench --flood`: pings answered throughout, every
    datagram counted as what it is, nothing sounding once every key is up."""
    figures = bench_flood(count=6000, rate=3000.0)
    server = figures["server"]
    assert server["datagrams_in"] == figures["datagrams_sent"]
    kinds = ("malformed", "too_large", "unknown_address", "bad_args", "bad_value", "busy")
    assert server["errors"] == sum(server[k] for k in kinds) and server["internal_errors"] == 0
    assert figures["ping_during_flood"]["lost"] == 0
    assert figures["sounding_notes_after_release"] == 0
    print(figures["ping_during_flood"])
