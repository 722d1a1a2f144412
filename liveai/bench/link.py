"""`liveai bench --link`: liveai in an Ableton Link session with a second peer.

A real `liveai serve` (clock.source = "link") and a Link peer in this process, from
the same library (aalink), find each other on one machine. liveai plays; each
`/liveai/out/beat` is stamped as it arrives (a thread blocked in recv) and set against
the peer's own beat at that instant: the error is the distance to the peer's nearest
beat, in milliseconds, and the beat must carry the peer's phase (its place in the bar).
Then the peer changes tempo (how long until liveai says the new tempo, and whether its
next beats sit on the new grid), and liveai proposes one (how long until the peer has
it). Figures, and the test's assertions, from the same run.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.stats import percentiles_ms
from .harness import OscPeer, ServerProcess, decode, free_port, machine

QUANTUM = 4


class LinkPeer:
    """A Link peer on its own asyncio loop thread (aalink calls back on a loop)."""

    def __init__(self, bpm: float, quantum: int = QUANTUM) -> None:
        from aalink import Link  # the optional extra: liveai[link]

        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="link-peer")
        self._thread.start()

        async def make() -> Any:
            link = Link(bpm)
            link.quantum = quantum
            link.enabled = True
            return link

        self.link = asyncio.run_coroutine_threadsafe(make(), self.loop).result(5)

    def beat_at(self, t: float) -> tuple[float, float]:
        """The session's beat at monotonic time `t` (just past), and its tempo."""
        beat, tempo = self.link.beat, self.link.tempo
        now = time.monotonic()
        return beat - (now - t) * tempo / 60.0, tempo

    def close(self) -> None:
        self.link.enabled = False
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


@dataclass
class Heard:
    """What liveai sent, as it arrived: beats with the peer's beat then, and tempos."""

    beats: list[tuple[int, float, float, float]] = field(default_factory=list)  # n, t, peer beat, bpm
    tempos: list[tuple[float, float]] = field(default_factory=list)  # t, bpm
    pongs: int = 0
    lock: threading.Condition = field(default_factory=threading.Condition)


# Linux's SO_TIMESTAMPNS (Python names neither it nor its cmsg): the kernel stamps each
# datagram as it arrives, in CLOCK_REALTIME, so this thread's own wake-up is not measured.
SO_TIMESTAMPNS = 35


def stamping(sock: socket.socket) -> bool:
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        return True
    except OSError:
        return False


def arrived(ancillary: list[tuple[int, int, bytes]]) -> float:
    """When the datagram arrived, on time.monotonic's clock: the kernel's stamp where
    there is one, else now."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanoseconds = struct.unpack("qq", data[:16])
            return seconds + nanoseconds * 1e-9 - (time.time() - time.monotonic())
    return time.monotonic()


def listen(sock: socket.socket, peer: LinkPeer, heard: Heard) -> None:
    while True:
        try:
            data, ancillary, _, _ = sock.recvmsg(65536, 64)
        except OSError:
            return  # closed
        t = arrived(ancillary)
        address, args = decode(data)
        with heard.lock:
            if address == "/liveai/out/beat":
                heard.beats.append((int(args[0]), t, *peer.beat_at(t)))
            elif address == "/liveai/out/tempo":
                heard.tempos.append((t, float(args[0])))
            elif address == "/liveai/pong":
                heard.pongs += 1
            heard.lock.notify_all()


def wait_for(heard: Heard, done: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    with heard.lock:
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {what} within {timeout} s")
            heard.lock.wait(left)


def errors_ms(beats: list[tuple[int, float, float, float]]) -> tuple[list[float], int]:
    """Each beat's distance to the peer's nearest beat (ms), and how many beats sat
    in another place of the bar than the peer's."""
    out, off_phase = [], 0
    for n, _, beat, bpm in beats:
        nearest = round(beat)
        out.append((beat - nearest) * 60_000.0 / bpm)
        off_phase += (nearest - n) % QUANTUM != 0
    return out, off_phase


def bench_link(
    beats: int = 64,
    bpm: float = 240.0,
    new_bpm: float = 200.0,
    proposed: float = 150.0,
    log_path: str | Path | None = None,
) -> dict[str, Any]:
    """Run liveai with a Link peer in this process; the figures (see the module)."""
    peer = LinkPeer(bpm)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    kernel_stamps = stamping(sock)
    heard = Heard()
    reader = threading.Thread(target=listen, args=(sock, peer, heard), daemon=True)
    reader.start()
    port = free_port()
    target = f"127.0.0.1:{sock.getsockname()[1]}"
    overrides = [
        f"osc.port={port}",
        f'osc.targets=["{target}"]',
        "clock.source=link",
        f"clock.quantum={QUANTUM}",
        'model.continuation=""',
        "midi.api=none",
        "web.enabled=false",
    ]
    server = ServerProcess(overrides, log_path=log_path).start()
    control = OscPeer(port)  # sends; the answers come to `sock`
    try:
        deadline = time.monotonic() + 60
        while not heard.pongs:
            if time.monotonic() > deadline or server.proc is None or server.proc.poll() is not None:
                raise TimeoutError("liveai did not start:\n" + server.log())
            control.send("/liveai/ping", "ready")
            time.sleep(0.2)
        joined_at = time.monotonic()
        deadline = joined_at + 20
        while peer.link.num_peers < 1:  # Link's discovery, by multicast on one machine
            if time.monotonic() > deadline:
                raise TimeoutError("the two Link peers did not find each other within 20 s")
            time.sleep(0.05)
        found_s = time.monotonic() - joined_at
        control.send("/liveai/play")
        wait_for(heard, lambda: len(heard.beats) >= beats, beats * 60 / bpm + 10, f"{beats} beats")
        steady = list(heard.beats[:beats])

        # a peer's tempo change: when liveai says it, and where its next beats fall
        changed_at = time.monotonic()
        peer.link.tempo = new_bpm
        first = len(heard.beats)
        wait_for(
            heard,
            lambda: any(t > changed_at and abs(b - new_bpm) < 0.01 for t, b in heard.tempos),
            10,
            f"/liveai/out/tempo {new_bpm}",
        )
        told_at = next(t for t, b in heard.tempos if t > changed_at and abs(b - new_bpm) < 0.01)
        wait_for(
            heard, lambda: len(heard.beats) >= first + 8, 8 * 60 / new_bpm + 10, "beats after the change"
        )
        after = list(heard.beats[first : first + 8])

        # liveai proposes a tempo: when the peer has it
        asked_at = time.monotonic()
        control.send("/liveai/tempo", float(proposed))
        deadline = asked_at + 10
        while abs(peer.link.tempo - proposed) > 0.01:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the peer's tempo is {peer.link.tempo}, not {proposed}")
            time.sleep(0.0005)
        reached_s = time.monotonic() - asked_at
        control.send("/liveai/stop")
    finally:
        control.close()
        server.stop()
        sock.close()
        peer.close()
    steady_ms, steady_off = errors_ms(steady)
    after_ms, after_off = errors_ms(after)
    p50, p99, top = percentiles_ms([abs(e) / 1000 for e in steady_ms], (50, 99, 100))
    return {
        "bpm": bpm,
        "beats": len(steady),
        "stamped": "kernel (SO_TIMESTAMPNS)" if kernel_stamps else "on arrival (this thread)",
        "discovery_s": round(found_s, 3),
        "beat_error_ms": {"p50": round(p50, 3), "p99": round(p99, 3), "max": round(top, 3)},
        "beat_error_mean_ms": round(sum(steady_ms) / len(steady_ms), 3),
        "off_phase_beats": steady_off,
        "tempo_change": {
            "from": bpm,
            "to": new_bpm,
            "told_ms": round((told_at - changed_at) * 1000, 3),
            "beat_ms": round(60_000 / new_bpm, 3),
            "beats_after": len(after),
            "first_beat_after_s": round(after[0][1] - changed_at, 3),
            "errors_after_ms": [round(e, 3) for e in after_ms],
            "off_phase_beats": after_off,
        },
        "proposed": {"bpm": proposed, "reached_peer_ms": round(reached_s * 1000, 3)},
        "machine": machine(),
    }
