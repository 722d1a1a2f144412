"""`liveai bench`: round-trip latency from a separate process, over OSC and JACK MIDI.

The server runs as a subprocess, exactly as users run it. This process sends note
events at a fixed rate and timestamps the first harmonized answer to each (the rule
harmonizer: the path every note takes when no model answers in time); a bare
echo server (python-osc, or a mido JACK client) is measured the same way in the same
run: that is the floor the machine and the transport cost. Figures, not pass/fail.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict, deque
from contextlib import ExitStack
from typing import Any, Callable, Protocol

import numpy as np
from pythonosc.osc_packet import OscPacket

from ..config import load_config
from ..core.behaviours import RuleHarmonizer
from .harness import OscPeer, ServerProcess, free_port, osc_message

PITCHES = [48, 50, 52, 53, 55, 57, 59, 60, 62, 64, 65, 67, 69, 71]  # C major: answers in range
Send = Callable[[int, int, int], None]  # pitch, velocity, channel (1-16)


class RoundTrip:
    """Paced note events out; answers matched by (channel, answer pitch, on/off)."""

    def __init__(self, send: Send, answer_pitch: Callable[[int], int]) -> None:
        self.send = send
        self.answer_pitch = answer_pitch
        self._lock = threading.Lock()
        self._pending: dict[tuple[int, int, bool], deque[float]] = defaultdict(deque)
        self._latencies: list[float] = []

    def answer(self, pitch: int, velocity: int, channel: int, t: float) -> None:
        """Called by the receiving thread for every note that comes back."""
        with self._lock:
            queue = self._pending.get((channel, pitch, velocity > 0))
            if queue:
                self._latencies.append(t - queue.popleft())

    def run(self, rate: float, seconds: float) -> dict[str, Any]:
        with self._lock:
            self._pending.clear()
            self._latencies = []
        count = int(rate * seconds)
        start = time.perf_counter() + 0.05
        for i in range(count):
            wait = start + i / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)  # never spin: the receiving thread needs the GIL
            pair = i // 2
            pitch, channel, on = PITCHES[pair % len(PITCHES)], pair % 16 + 1, i % 2 == 0
            with self._lock:
                self._pending[(channel, self.answer_pitch(pitch), on)].append(time.perf_counter())
            self.send(pitch, 100 if on else 0, channel)
        elapsed = time.perf_counter() - start
        time.sleep(1.0)  # late answers still count; after this they are lost
        with self._lock:
            lost = sum(len(q) for q in self._pending.values())
            latencies = np.array(self._latencies) * 1000.0
        return summarize(latencies, count, lost, count / elapsed)


def harmonized_first_voice(config_path: str | None, overrides: list[str]) -> Callable[[int], int]:
    """The first harmony pitch the server will answer each probe pitch with."""
    harmonizer = RuleHarmonizer(load_config(config_path, overrides).harmonize)
    voices = {p: harmonizer.voices_for(p)[0] for p in PITCHES}
    return voices.__getitem__


def summarize(latencies_ms: np.ndarray, sent: int, lost: int, achieved_rate: float) -> dict[str, Any]:
    figures: dict[str, Any] = {"sent": sent, "answered": int(latencies_ms.size), "lost": lost,
                               "achieved_rate": round(achieved_rate, 1)}
    if latencies_ms.size:
        p50, p99, p999 = np.percentile(latencies_ms, [50, 99, 99.9])
        figures.update(p50_ms=round(float(p50), 3), p99_ms=round(float(p99), 3),
                       p999_ms=round(float(p999), 3), max_ms=round(float(latencies_ms.max()), 3))
    return figures


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return {"cpu": model or platform.processor(), "cores": os.cpu_count(), "python": platform.python_version(),
            "system": platform.platform()}


# -- OSC ----------------------------------------------------------------------------------
class Answers(Protocol):
    def answer(self, pitch: int, velocity: int, channel: int, t: float) -> None: ...


class OscAnswers:
    """A UDP socket read on its own thread; notes go to the round trip, the rest to a queue."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.round_trip: Answers | None = None
        self.other: deque[tuple[str, list[Any]]] = deque(maxlen=100)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return  # closed
            t = time.perf_counter()
            message = OscPacket(data).messages[0].message
            if message.address == "/liveai/out/note" and self.round_trip is not None:
                pitch, velocity, channel = message.params[:3]
                self.round_trip.answer(int(pitch), int(velocity), int(channel), t)
            else:
                self.other.append((message.address, list(message.params)))

    def close(self) -> None:
        self.sock.close()


def bench_osc_target(server_port: int, answers: OscAnswers, answer_pitch: Callable[[int], int],
                     rates: list[float], seconds: float) -> dict[str, Any]:
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    encoded = {(p, v, c): osc_message("/liveai/note", p, v, c)
               for p in PITCHES for v in (0, 100) for c in range(1, 17)}

    def send(pitch: int, velocity: int, channel: int) -> None:
        out.sendto(encoded[(pitch, velocity, channel)], ("127.0.0.1", server_port))

    trip = RoundTrip(send, answer_pitch)
    answers.round_trip = trip
    results: dict[str, Any] = {}
    try:
        trip.run(200, 1.0)  # warm-up, not reported
        for rate in rates:
            results[f"{rate:g}/s"] = trip.run(rate, seconds)
    finally:
        answers.round_trip = None
        out.close()
    return results


def bench_osc(rates: list[float], seconds: float, overrides: list[str], config_path: str | None) -> dict[str, Any]:
    with ExitStack() as stack:
        answers = OscAnswers()
        stack.callback(answers.close)
        port = free_port()
        server = ServerProcess([f"osc.port={port}", f'osc.targets=["127.0.0.1:{answers.port}"]', "midi.api=none",
                                "server.mode=harmonize", "harmonize.by=rule", *overrides], config=config_path).start()
        stack.callback(server.stop)
        _wait_ready(port, answers)
        first_voice = harmonized_first_voice(config_path, overrides)
        liveai = bench_osc_target(port, answers, first_voice, rates, seconds)
        status = _status(port, answers)

        echo_port = free_port()
        echo = subprocess.Popen([sys.executable, "-m", "liveai.bench.echo_osc", str(echo_port), str(answers.port)])
        stack.callback(_terminate, echo)
        _wait_ready(echo_port, answers)
        floor = bench_osc_target(echo_port, answers, lambda p: p, rates, seconds)
    return {"liveai_harmonize": liveai, "floor_python_osc_echo": floor, "server_status_after": status}


def _wait_ready(port: int, answers: OscAnswers, timeout: float = 15.0) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            sock.sendto(osc_message("/liveai/ping", "bench"), ("127.0.0.1", port))
            time.sleep(0.1)
            if ("/liveai/pong", ["bench"]) in answers.other:
                answers.other.clear()
                return
    finally:
        sock.close()
    raise TimeoutError(f"no pong from 127.0.0.1:{port}")


def _status(port: int, answers: OscAnswers) -> dict[str, Any]:
    with OscPeer(port) as peer:
        answers.other.clear()
        peer.send("/liveai/status")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            for address, args in list(answers.other):
                if address == "/liveai/status":
                    return dict(zip(args[0::2], args[1::2]))
            time.sleep(0.02)
    return {}


def _terminate(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    proc.wait()


def run_benchmarks(osc: bool, midi: bool, rates: list[float], seconds: float,
                   overrides: list[str], config_path: str | None) -> dict[str, Any]:
    report: dict[str, Any] = {"machine": machine(), "seconds_per_rate": seconds}
    if osc:
        report["osc"] = bench_osc(rates, seconds, overrides, config_path)
    if midi:
        from .midi_latency import bench_midi

        report["midi"] = bench_midi(rates, seconds, overrides, config_path)
    return report

