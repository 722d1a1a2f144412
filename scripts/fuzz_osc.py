#!/usr/bin/env python
"""Coverage-guided fuzzing of liveai's OSC intake (atheris / libFuzzer): the datagram
check, python-osc's decoding, the command table and the engine, in process.

    .venv/bin/python scripts/fuzz_osc.py -runs=20000           # what CI runs (tests/integration/test_fuzz.py)
    .venv/bin/python scripts/fuzz_osc.py -runs=1000000 -print_final_stats=1

It starts from a corpus of valid datagrams it writes itself (every command, every type
tag python-osc knows and the ones it does not, nested and timetagged bundles, 64 KB
datagrams, NaN and infinities) and mutates them. Any exception that leaves the
endpoint is a crash (libFuzzer saves the input); so is an internal error, even one
contained, and an input that leaves a note sounding that its own note-offs did not
end. `--stats FILE` gets the count of inputs and the slowest input's time as JSON,
updated as it runs (the input itself in FILE with the suffix .slowest).
"""

from __future__ import annotations

import asyncio
import json
import struct
import sys
import time
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# liveai and python-osc's decoding only: instrumenting what they import (torch) took 45 s
with atheris.instrument_imports(include=["liveai", "pythonosc"]):
    from liveai.behaviours.registry import Registry
    from liveai.config import Config
    from liveai.control.handlers import definitions
    from liveai.control.table import CommandTable
    from liveai.core.engine import Engine
    from liveai.events import ControlChange, NoteOff
    from liveai.transports import osc as osc_transport
    from liveai.transports import osc_input, osc_wire  # noqa: F401  (instrumented for coverage)

from liveai.bench.harness import osc_message  # noqa: E402


class _Socket:
    def sendto(self, data: bytes, target: tuple[str, int]) -> None:
        pass


class _Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _endpoint() -> tuple[osc_transport.OscTransport, Engine, _Clock]:
    config = Config()
    config.server.mode = "thru"
    clock = _Clock()
    engine = Engine(config, now=clock, behaviours=Registry())
    endpoint = osc_transport.OscTransport(
        config.osc, CommandTable(engine, definitions(Registry().commands())), engine.stats, engine.status
    )
    endpoint._transport = _Socket()  # type: ignore[assignment]
    return endpoint, engine, clock


ENDPOINT, ENGINE, CLOCK = _endpoint()
LOOP = asyncio.new_event_loop()  # timetagged bundles wait on the loop, as in the server
STATS = {"inputs": 0, "slowest_ms": 0.0}
STATS_FILE: Path | None = None


def _bundle(*elements: bytes, timetag: int = 1) -> bytes:
    return (
        b"#bundle\x00"
        + struct.pack(">Q", timetag)
        + b"".join(struct.pack(">i", len(e)) + e for e in elements)
    )


def _raw(address: str, tags: str, payload: bytes) -> bytes:
    def pad(b: bytes) -> bytes:
        return b + b"\x00" * (4 - len(b) % 4)

    return pad(address.encode()) + pad(("," + tags).encode()) + payload


def seeds() -> list[bytes]:
    """Valid datagrams that reach deep: every command, every type tag, bundles."""
    out = [
        osc_message("/liveai/note", 60, 100),
        osc_message("/liveai/note", 60.0, 0.0, 2.0),
        osc_message("/liveai/note", 60, 100, 1, "player"),
        osc_message("/liveai/cc", 64, 127),
        osc_message("/liveai/mode", "harmonize"),
        osc_message("/liveai/tempo", 140.5),
        osc_message("/liveai/temperature", float("nan")),
        osc_message("/liveai/morph", float("inf")),
        osc_message("/liveai/key", "A", "minor"),
        osc_message("/liveai/register", 40, 80),
        osc_message("/liveai/ping", "token"),
        osc_message("/liveai/status"),
        osc_message("/liveai/panic"),
        osc_message("/liveai/subscribe", 9100),
        osc_message("/liveai/{play,stop}"),
        osc_message("/liveai/te*", 100),
        osc_message("/liveai/continue", 2.0),
        osc_message("/liveai/density", 0.3),
        osc_message("/liveai/note", 60, 100, types="ii"),
        _raw("/liveai/note", "hh", struct.pack(">qq", 60, 100)),
        _raw("/liveai/note", "dd", struct.pack(">dd", 60.0, 100.0)),
        _raw("/liveai/ping", "T", b""),
        _raw("/liveai/ping", "F", b""),
        _raw("/liveai/ping", "N", b""),
        _raw("/liveai/ping", "I", b""),
        _raw("/liveai/ping", "c", struct.pack(">i", 65)),
        _raw("/liveai/ping", "[ii]", struct.pack(">ii", 1, 2)),
        _raw("/liveai/ping", "t", struct.pack(">Q", 7)),
        _raw("/liveai/ping", "m", b"\x00\x90\x3c\x64"),
        _raw("/liveai/ping", "r", b"\x01\x02\x03\x04"),
        _raw("/liveai/ping", "b", struct.pack(">i", 3) + b"abc\x00"),
        _bundle(osc_message("/liveai/note", 62, 90), osc_message("/liveai/note", 62, 0)),
        _bundle(_bundle(osc_message("/liveai/ping", 1)), osc_message("/liveai/status")),
        _bundle(osc_message("/liveai/note", 64, 80), timetag=(int(time.time() + 2208988800 + 1) << 32)),
        _bundle(*[osc_message("/liveai/ping", i) for i in range(200)]),
        osc_message("/liveai/ping", "x" * 65000),
    ]
    return out


async def _receive(data: bytes) -> float:
    started = time.perf_counter()
    ENDPOINT.receive(data, ("10.1.2.3", 4000 + len(data) % 7), CLOCK.t)
    return (time.perf_counter() - started) * 1000.0


def one_input(data: bytes) -> None:
    CLOCK.t += 0.001
    elapsed = LOOP.run_until_complete(_receive(data))
    # every key and pedal up again: then nothing may sound
    for session in ENGINE.sessions:
        for channel in sorted(session.pedals):
            ENGINE.handle(ControlChange(64, 0, channel, t=CLOCK.t, source="osc:10.1.2.3:1"))
        for channel, pitch in sorted(session.held):
            ENGINE.handle(NoteOff(pitch, channel, t=CLOCK.t, source="osc:10.1.2.3:1"))
    if ENGINE.output.tracker.sounding:
        raise AssertionError(
            f"notes still sound after their note-offs: {sorted(ENGINE.output.tracker.sounding)}"
        )
    if ENGINE.stats.counters["internal_errors"]:  # contained, so it left no exception: a crash all the same
        raise AssertionError("an internal error was contained (its traceback is in the log above)")
    STATS["inputs"] += 1
    if elapsed > STATS["slowest_ms"]:
        STATS["slowest_ms"] = round(elapsed, 3)
        if STATS_FILE is not None:  # keep the slowest input, to look at
            STATS_FILE.with_suffix(".slowest").write_bytes(data)
    if STATS_FILE is not None and STATS["inputs"] % 2000 == 0:
        STATS_FILE.write_text(json.dumps(STATS))


def main() -> None:
    global STATS_FILE
    args = list(sys.argv)
    if "--stats" in args:
        i = args.index("--stats")
        STATS_FILE = Path(args[i + 1])
        del args[i : i + 2]
    corpus = ROOT / "runs" / "fuzz" / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for n, seed in enumerate(seeds()):
        (corpus / f"seed-{n:03d}").write_bytes(seed)
    if not any(a.startswith("-max_len") for a in args):
        args.append("-max_len=65507")  # the largest UDP datagram
    atheris.Setup([*args, str(corpus)], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
