"""`liveai bench --soak MINUTES`: the server under a mixed load for a long time, watched.

Three players in their own sessions (`server.sessions = "per_source"`, named by session
id) on the shipped GRU: one harmonizes at 50 notes/s, one plays duet phrases and waits
for the answers, one lets the autopilot play. Every minute a line of JSON: resident
memory, open file descriptors, what the server holds (scheduled events, sounding
notes, sessions, model sessions, subscribers), and the p99 of pings and of harmony
answers in that minute. The summary gives the memory slope (MB per hour, least
squares over the minutes) and the last minute's p99 against the first's.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
from contextlib import ExitStack
from typing import Any

import numpy as np

from ..core.stats import percentiles_ms
from .harness import OscAnswers, OscPeer, ServerProcess, ask_status, free_port, ping_round_trip, wait_pong

HARMONY_PITCHES = [60, 62, 64, 65, 67, 69, 71, 72]
PHRASE = [60, 64, 67, 72, 71, 67, 65, 62]
WATCHED = (
    "memory_mb",
    "open_fds",
    "scheduled",
    "sounding_notes",
    "sessions",
    "model_gru_sessions",
    "osc_subscribers",
    "deadline_misses",
    "errors",
    "osc_timetagged_dropped",
)


class _Answers:
    """Harmony answers by channel: the channel a harmony note-on comes back on tells
    which note it answers (the harmonizing player uses channels 1-8 in turn)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: dict[int, float] = {}
        self.latencies: deque[float] = deque()

    def answer(self, pitch: int, velocity: int, channel: int, t: float) -> None:
        if velocity:
            with self.lock:
                sent = self.sent.pop(channel, None)
                if sent is not None:
                    self.latencies.append(t - sent)


def _play(stop: threading.Event, port: int, trip: _Answers) -> None:
    """The three players, until `stop`: a harmony note every 20 ms, a duet phrase every
    6 s, the autopilot on its own."""
    with OscPeer(port) as player:
        player.send("/liveai/mode", "harmonize", "harm")
        player.send("/liveai/mode", "duet", "duet")
        player.send("/liveai/mode", "autopilot", "auto")
        i, next_phrase = 0, time.monotonic() + 1.0
        while not stop.is_set():
            channel, pitch = i % 8 + 1, HARMONY_PITCHES[i % len(HARMONY_PITCHES)]
            with trip.lock:
                trip.sent[channel] = time.perf_counter()
            player.send("/liveai/note", pitch, 90, channel, "harm")
            time.sleep(0.01)
            player.send("/liveai/note", pitch, 0, channel, "harm")
            time.sleep(0.01)
            i += 1
            if time.monotonic() >= next_phrase:
                for k, p in enumerate(PHRASE):  # eight notes in 0.8 s, on channel 10
                    player.send("/liveai/note", p, 80, 10, "duet")
                    player.send("/liveai/note", p, 0, 10, "duet")
                    if k % 2:
                        time.sleep(0.2)
                next_phrase = time.monotonic() + 6.0


def bench_soak(
    minutes: float, model: str = "gru", out: Any = sys.stderr, window_s: float = 60.0
) -> dict[str, Any]:
    """`minutes` windows of play, a row each; a window is a minute, or `window_s`
    seconds for a CI-sized run that watches the same figures."""
    rows: list[dict[str, Any]] = []
    with ExitStack() as stack:
        answers = OscAnswers()
        stack.callback(answers.close)
        trip = _Answers()
        answers.round_trip = trip
        port = free_port()
        server = ServerProcess(
            [
                f"osc.port={port}",
                f'osc.targets=["127.0.0.1:{answers.port}"]',
                "midi.api=none",
                f"model.continuation={model}",
                "server.sessions=per_source",
                "model.seed=7",
            ]
        ).start()
        stack.callback(server.stop)
        peer = stack.enter_context(OscPeer(port))
        wait_pong(peer.send, answers, "up", timeout=60)
        stop = threading.Event()
        players = threading.Thread(target=_play, args=(stop, port, trip), daemon=True)
        players.start()
        stack.callback(players.join)
        stack.callback(stop.set)
        started = time.monotonic()
        for minute in range(1, int(np.ceil(minutes)) + 1):
            pings: list[float] = []
            minute_end = started + min(minute, minutes) * window_s
            while time.monotonic() < minute_end:
                rtt = ping_round_trip(peer.send, answers, int(time.perf_counter() * 1e6) % 2**31)
                if rtt is not None:
                    pings.append(rtt)
                time.sleep(0.25)
            with trip.lock:
                latencies, trip.latencies = list(trip.latencies), deque()
            answers.drain()
            status = ask_status(peer.send, answers, timeout=5)
            row = {
                "minute": minute,
                "ping_p99_ms": round(percentiles_ms(pings, [99])[0], 3),
                "answer_p99_ms": round(percentiles_ms(latencies, [99])[0], 3),
                "answers": len(latencies),
                **{key: status.get(key) for key in WATCHED},
                "memory_mb": round(float(status["memory_mb"]), 1),
            }
            rows.append(row)
            print(json.dumps(row), file=out, flush=True)
    minutes_axis = np.array([r["minute"] for r in rows], dtype=float)
    memory = np.array([r["memory_mb"] for r in rows], dtype=float)
    per_window = float(np.polyfit(minutes_axis, memory, 1)[0]) if len(rows) >= 2 else 0.0
    slope = per_window * 3600.0 / window_s
    return {
        "minutes": minutes,
        "window_s": window_s,
        "model": model,
        "per_minute": rows,
        "memory_mb_first_last": [rows[0]["memory_mb"], rows[-1]["memory_mb"]],
        "memory_slope_mb_per_hour": round(slope, 2),
        "open_fds_first_last": [rows[0]["open_fds"], rows[-1]["open_fds"]],
        "ping_p99_ms_first_last": [rows[0]["ping_p99_ms"], rows[-1]["ping_p99_ms"]],
        "answer_p99_ms_first_last": [rows[0]["answer_p99_ms"], rows[-1]["answer_p99_ms"]],
    }
