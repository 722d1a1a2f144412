"""`liveai bench [--osc] [--midi]`: round-trip latency of the transports, from a
separate process.

The server runs as a subprocess, exactly as users run it. This process sends note
events at a fixed rate and timestamps the first harmonized answer to each (the rule
harmonizer: the path every note takes when no model answers in time); a bare echo
server (python-osc, or a mido JACK client) is measured the same way in the same run:
that is the floor the machine and the transport cost. Figures, not pass/fail.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import mido

from ..behaviours.rule_harmonize import voices_for
from ..config import load_config
from .harness import (
    OscAnswers,
    OscPeer,
    ServerProcess,
    ask_status,
    free_port,
    machine,
    osc_message,
    summarize,
    wait_pong,
)
from .jack import connect_through, period_frames, port, start_jack, terminate

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
        with self._lock:
            waiting = self._pending.get((channel, pitch, velocity > 0))
            if waiting:
                self._latencies.append(t - waiting.popleft())

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
            latencies = list(self._latencies)
        return summarize(latencies, count, lost, count / elapsed)

    def rates(self, rates: list[float], seconds: float) -> dict[str, Any]:
        self.run(200, 1.0)  # warm-up, not reported
        return {f"{rate:g}/s": self.run(rate, seconds) for rate in rates}


def harmonized_first_voice(config_path: str | None, overrides: list[str]) -> Callable[[int], int]:
    """The first harmony pitch the server will answer each probe pitch with."""
    config = load_config(config_path, overrides).harmonize
    voices = {p: voices_for(config, p)[0] for p in PITCHES}
    return voices.__getitem__


# -- OSC ----------------------------------------------------------------------------------
def bench_osc_target(
    server_port: int,
    answers: OscAnswers,
    answer_pitch: Callable[[int], int],
    rates: list[float],
    seconds: float,
) -> dict[str, Any]:
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    encoded = {
        (p, v, c): osc_message("/liveai/note", p, v, c)
        for p in PITCHES
        for v in (0, 100)
        for c in range(1, 17)
    }

    def send(pitch: int, velocity: int, channel: int) -> None:
        out.sendto(encoded[(pitch, velocity, channel)], ("127.0.0.1", server_port))

    trip = RoundTrip(send, answer_pitch)
    answers.round_trip = trip
    try:
        return trip.rates(rates, seconds)
    finally:
        answers.round_trip = None
        out.close()


def bench_osc(
    rates: list[float], seconds: float, overrides: list[str], config_path: str | None
) -> dict[str, Any]:
    with ExitStack() as stack:
        answers = OscAnswers()
        stack.callback(answers.close)
        osc_port = free_port()
        server = ServerProcess(
            [
                f"osc.port={osc_port}",
                f'osc.targets=["127.0.0.1:{answers.port}"]',
                "midi.api=none",
                "server.mode=harmonize",
                "harmonize.by=rule",
                *overrides,
            ],
            config=config_path,
        ).start()
        stack.callback(server.stop)
        peer = stack.enter_context(OscPeer(osc_port))
        wait_pong(peer.send, answers, "bench", timeout=15)
        first_voice = harmonized_first_voice(config_path, overrides)
        liveai = bench_osc_target(osc_port, answers, first_voice, rates, seconds)
        answers.drain()
        status = ask_status(peer.send, answers, timeout=3)

        echo_port = free_port()
        echo = subprocess.Popen(
            [sys.executable, "-m", "liveai.bench.echo_osc", str(echo_port), str(answers.port)]
        )
        stack.callback(terminate, echo)
        with OscPeer(echo_port) as echo_peer:
            wait_pong(echo_peer.send, answers, "bench", timeout=15)
        floor = bench_osc_target(echo_port, answers, lambda p: p, rates, seconds)
    return {"liveai_harmonize": liveai, "floor_python_osc_echo": floor, "server_status_after": status}


# -- JACK MIDI ------------------------------------------------------------------------------
def bench_midi(
    rates: list[float], seconds: float, overrides: list[str], config_path: str | None
) -> dict[str, Any]:
    with ExitStack() as stack:
        start_jack(stack)
        period = period_frames()
        midi = mido.Backend("mido.backends.rtmidi/UNIX_JACK")
        player = midi.open_output("bench player", virtual=True, client_name="bench")
        stack.callback(player.close)

        def send(pitch: int, velocity: int, channel: int) -> None:
            player.send(mido.Message("note_on", note=pitch, velocity=velocity, channel=channel - 1))

        trip: RoundTrip | None = None

        def heard(msg: mido.Message) -> None:
            t = time.perf_counter()
            if trip is not None and msg.type in ("note_on", "note_off"):
                velocity = msg.velocity if msg.type == "note_on" else 0
                trip.answer(msg.note, velocity, msg.channel + 1, t)

        listener = midi.open_input("bench listener", virtual=True, client_name="bench", callback=heard)
        stack.callback(listener.close)

        osc_port = free_port()
        peer = stack.enter_context(OscPeer(osc_port))
        server = ServerProcess(
            [
                f"osc.port={osc_port}",
                f'osc.targets=["127.0.0.1:{peer.port}"]',
                "midi.api=jack",
                "server.mode=harmonize",
                "harmonize.by=rule",
                *overrides,
            ],
            config=config_path,
        ).start()
        stack.callback(server.stop)
        peer.wait_pong(timeout=15)
        connect_through(port("bench player"), port("liveai in"), port("liveai out"), port("bench listener"))
        trip = RoundTrip(send, harmonized_first_voice(config_path, overrides))
        liveai = trip.rates(rates, seconds)
        peer.drain()
        status = peer.status()
        server.stop()

        echo = subprocess.Popen(
            [sys.executable, "-m", "liveai.bench.echo_midi", "echo"], stdout=subprocess.PIPE, text=True
        )
        stack.callback(terminate, echo)
        assert echo.stdout is not None and echo.stdout.readline().strip() == "ready"
        connect_through(port("bench player"), port("echo in"), port("echo out"), port("bench listener"))
        trip = RoundTrip(send, lambda p: p)
        floor = trip.rates(rates, seconds)
        echo.stdout.close()
    return {
        "jack_period_frames": period,
        "liveai_harmonize": liveai,
        "floor_mido_echo": floor,
        "server_status_after": status,
    }


def run_benchmarks(
    osc: bool, midi: bool, rates: list[float], seconds: float, overrides: list[str], config_path: str | None
) -> dict[str, Any]:
    report: dict[str, Any] = {"machine": machine(), "seconds_per_rate": seconds}
    if osc:
        report["osc"] = bench_osc(rates, seconds, overrides, config_path)
    if midi:
        report["midi"] = bench_midi(rates, seconds, overrides, config_path)
    return report
