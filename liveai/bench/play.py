"""`liveai bench --play`: the server with the shipped models, measured from outside.

- harmonize (by the harmony model, with each continuation model on the worker): note-in
  to first harmonized note-out, over OSC and over JACK MIDI (period 64 frames at 48 kHz), at 50 and 200
  notes/s, with deadline misses;
- duet: from the end of the phrase gap to the first answer note (OSC);
- 4 and 16 concurrent sessions (separate OSC clients, one channel each) at 50 notes/s
  each: the harmonize round trip over all of them;
- ping round trips while a long duet answer is being generated (the loop is free).

A note is held for `HOLD_S` (longer than the 5 ms budget, so a rule answer at the
budget is not cut short by the key's release); one player rotates its notes over the
16 MIDI channels, which tags each answer with the note it answers.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import mido

from .harness import (
    OscAnswers,
    OscPeer,
    ServerProcess,
    ask_status,
    free_port,
    machine,
    osc_message,
    ping_round_trip,
    summarize,
    wait_pong,
)
from .jack import connect_through, port, start_jack

PITCHES = [60, 62, 64, 65, 67, 69, 71, 72]
HOLD_S = 0.02
Send = Callable[[int, int, int], None]  # pitch, velocity, channel 1-16


class ChannelRoundTrip:
    """Note-ons out; the first harmony note-on back on a channel answers the latest
    note sent on it (its other voices are not counted again). A note on a channel
    that gets no answer before the next note on that channel is lost. (An answer later
    than 16 notes would be taken for the next note's; it cannot come: a note is held
    20 ms and a released key is not answered.)"""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[int, float] = {}  # channel -> send time of its unanswered note
        self.latencies: list[float] = []
        self.missed = 0

    def answer(self, pitch: int, velocity: int, channel: int, t: float) -> None:
        if velocity == 0:
            return
        with self._lock:
            sent = self._latest.pop(channel, None)
            if sent is not None:
                self.latencies.append(t - sent)

    def sent(self, channel: int, t: float) -> None:
        with self._lock:
            if self._latest.get(channel) is not None:
                self.missed += 1
            self._latest[channel] = t

    def lost(self) -> int:
        with self._lock:
            return self.missed + len(self._latest)

    def reset(self) -> None:
        with self._lock:
            self._latest.clear()
            self.latencies, self.missed = [], 0


def play_notes(
    senders: list[Send], trip: ChannelRoundTrip, rate_each: float, seconds: float, channels: int = 1
) -> float:
    """Each sender plays `rate_each` notes/s, each note held HOLD_S; sender k uses
    channels k*channels+1 .. (k+1)*channels in turn. Returns the achieved total rate."""
    count = int(rate_each * seconds)
    plan = []  # (time, sender, channel, pitch, velocity)
    for k in range(len(senders)):
        for i in range(count):
            at = i / rate_each + k / (rate_each * len(senders))
            channel, pitch = k * channels + i % channels + 1, PITCHES[i % len(PITCHES)]
            plan += [(at, k, channel, pitch, 100), (at + HOLD_S, k, channel, pitch, 0)]
    plan.sort(key=lambda e: (e[0], e[4]))  # at equal times, releases first
    start = time.perf_counter() + 0.05
    for at, k, channel, pitch, velocity in plan:
        wait = start + at - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        if velocity:
            trip.sent(channel, time.perf_counter())
        senders[k](pitch, velocity, channel)
    return len(senders) * count / (time.perf_counter() - start - HOLD_S)


def osc_sender(port: int) -> tuple[Send, socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    cache: dict[tuple[int, int, int], bytes] = {}

    def send(pitch: int, velocity: int, channel: int) -> None:
        key = (pitch, velocity, channel)
        if key not in cache:
            cache[key] = osc_message("/liveai/note", pitch, velocity, channel)
        sock.sendto(cache[key], ("127.0.0.1", port))

    return send, sock


class PlayServer:
    """A `liveai serve` with a model, its answers read on a thread."""

    def __init__(
        self,
        stack: ExitStack,
        model: str,
        overrides: list[str],
        env: dict[str, str] | None = None,
        midi: bool = False,
        cwd: Path | None = None,
        timeout: float = 60,
    ) -> None:
        """`cwd`: where it starts; `timeout`: seconds it has to answer a ping (loading torch
        and the model takes a moment)."""
        self.answers = OscAnswers()
        stack.callback(self.answers.close)
        self.port = free_port()
        sets = [
            f"osc.port={self.port}",
            f'osc.targets=["127.0.0.1:{self.answers.port}"]',
            f"midi.api={'jack' if midi else 'none'}",
            f"model.continuation={model}",
            "model.seed=7",
            *overrides,
        ]
        self.server = ServerProcess(sets, env=env, cwd=cwd).start()
        stack.callback(self.server.stop)
        self.peer = stack.enter_context(OscPeer(self.port))
        wait_pong(self.peer.send, self.answers, "up", timeout=timeout)

    def status(self) -> dict[str, Any]:
        self.answers.drain()
        return ask_status(self.peer.send, self.answers, timeout=5)


class _FirstNotes:
    """Arrival times of answer note-ons."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()

    def answer(self, pitch: int, velocity: int, channel: int, t: float) -> None:
        if velocity:
            self.times.append(t)


def bench_harmonize_osc(model: str, rates: list[float], seconds: float) -> dict[str, Any]:
    with ExitStack() as stack:
        srv = PlayServer(stack, model, ["server.mode=harmonize", "harmonize.by=harmony"])
        trip = ChannelRoundTrip()
        srv.answers.round_trip = trip
        send, sock = osc_sender(srv.port)
        stack.callback(sock.close)
        return harmonize_rates(srv, send, trip, model, rates, seconds)


def harmonize_rates(
    srv: PlayServer, send: Send, trip: ChannelRoundTrip, model: str, rates: list[float], seconds: float
) -> dict[str, Any]:
    """Round trips note-in -> first harmony note-out at each rate, after a warm-up."""
    play_notes([send], trip, 50, 1.0, channels=16)
    out: dict[str, Any] = {}
    for rate in rates:
        misses = srv.status()["deadline_misses"]
        trip.reset()
        achieved = play_notes([send], trip, rate, seconds, channels=16)
        time.sleep(0.5)
        figures = summarize(trip.latencies, int(rate * seconds), trip.lost(), achieved)
        status = srv.status()
        figures["deadline_misses"] = status["deadline_misses"] - misses
        figures["model_step_p99_ms"] = status.get(f"model_{model}_step_p99_ms")
        out[f"{rate:g} notes/s"] = figures
    return out


def bench_harmonize_midi(model: str, rates: list[float], seconds: float) -> dict[str, Any]:
    """The same round trips through JACK MIDI (the server's virtual ports)."""
    with ExitStack() as stack:
        start_jack(stack)
        midi = mido.Backend("mido.backends.rtmidi/UNIX_JACK")
        trip = ChannelRoundTrip()
        player = midi.open_output("play player", virtual=True, client_name="play")
        stack.callback(player.close)

        def heard(msg: mido.Message) -> None:
            if msg.type == "note_on":
                trip.answer(msg.note, msg.velocity, msg.channel + 1, time.perf_counter())

        listener = midi.open_input("play listener", virtual=True, client_name="play", callback=heard)
        stack.callback(listener.close)
        srv = PlayServer(stack, model, ["server.mode=harmonize", "harmonize.by=harmony"], midi=True)
        connect_through(port("play player"), port("liveai in"), port("liveai out"), port("play listener"))

        def send(pitch: int, velocity: int, channel: int) -> None:
            player.send(mido.Message("note_on", note=pitch, velocity=velocity, channel=channel - 1))

        return harmonize_rates(srv, send, trip, model, rates, seconds)


def bench_sessions(model: str, clients: list[int], rate_each: float, seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n in clients:
        with ExitStack() as stack:
            srv = PlayServer(
                stack, model, ["server.mode=harmonize", "harmonize.by=harmony", "server.sessions=per_source"]
            )
            trip = ChannelRoundTrip()
            srv.answers.round_trip = trip
            senders = []
            for _ in range(n):
                send, sock = osc_sender(srv.port)
                stack.callback(sock.close)
                senders.append(send)
            play_notes(senders, trip, 10, 1.0)  # warm-up: every session exists
            misses = srv.status()["deadline_misses"]
            trip.reset()
            achieved = play_notes(senders, trip, rate_each, seconds)
            time.sleep(0.5)
            figures = summarize(trip.latencies, int(rate_each * seconds) * n, trip.lost(), achieved)
            status = srv.status()
            figures["deadline_misses"] = status["deadline_misses"] - misses
            figures["sessions"] = status["sessions"]
            figures["model_batch_mean"] = status.get(f"model_{model}_batch_mean")
            out[f"{n} sessions x {rate_each:g} notes/s"] = figures
    return out


# How the bench plays a phrase: (velocity, seconds from a note-on to the next,
# seconds the note sounds). Detached as before; legato with a patch's one velocity;
# overlapping legato, each note 30 ms into the next, as a keyboard player's hand.
PHRASING = {"detached": (90, 0.15, 0.12), "legato": (100, 0.15, 0.15), "overlapping": (100, 0.15, 0.18)}


def _phrase(send: Send, pitches: list[int], phrasing: str) -> float:
    """Play a phrase in `phrasing`; the time of its last note-off."""
    velocity, step, length = PHRASING[phrasing]
    start = time.perf_counter()
    events = sorted(
        [(i * step, 1, p) for i, p in enumerate(pitches)]
        + [(i * step + length, 0, p) for i, p in enumerate(pitches)]
    )
    for at, is_on, pitch in events:  # at one instant, the note-off first (legato)
        wait = start + at - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        send(pitch, velocity if is_on else 0, 1)
    return time.perf_counter()


def bench_duet(model: str, rounds: int, phrasing: str = "detached") -> dict[str, Any]:
    """Phrase, silence, answer: the first answer note against the end of the gap."""
    gap_s = 0.3
    with ExitStack() as stack:
        srv = PlayServer(stack, model, ["server.mode=duet", f"duet.phrase_gap_ms={gap_s * 1000:g}"])
        first = _FirstNotes()
        srv.answers.round_trip = first
        send, sock = osc_sender(srv.port)
        stack.callback(sock.close)
        delays, misses0 = [], srv.status()["deadline_misses"]
        for r in range(rounds):
            last_off = _phrase(send, PITCHES[: 4 + r % 4], phrasing)
            gap_end = last_off + gap_s
            first.times.clear()
            deadline = gap_end + 2.0
            while not first.times and time.perf_counter() < deadline:
                time.sleep(0.001)
            if first.times:
                delays.append(first.times[0] - gap_end)
            time.sleep(0.3)
        figures = summarize(delays, rounds, rounds - len(delays))
        figures["deadline_misses"] = srv.status()["deadline_misses"] - misses0
        return figures


def bench_ping_during_answer(model: str, seconds: float = 3.0) -> dict[str, Any]:
    with ExitStack() as stack:
        srv = PlayServer(stack, model, ["server.mode=duet", "duet.max_response_s=60"])
        send, sock = osc_sender(srv.port)
        stack.callback(sock.close)
        for pitch in PITCHES:
            send(pitch, 90, 1)
            send(pitch, 0, 1)
        srv.peer.send("/liveai/tempo", 300.0)
        srv.peer.send("/liveai/continue", 64.0)  # a long answer: 12.8 s of music to generate
        srv.answers.drain()
        rtts, lost = [], 0
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            rtt = ping_round_trip(srv.peer.send, srv.answers, int(time.perf_counter() * 1e6) % 2**31)
            if rtt is None:
                lost += 1
            else:
                rtts.append(rtt)
            time.sleep(0.01)
        return summarize(rtts, len(rtts) + lost, lost)


def bench_play(models: list[str], seconds: float, midi: bool) -> dict[str, Any]:
    report: dict[str, Any] = {"machine": machine()}
    for model in models:
        entry: dict[str, Any] = {"harmonize_osc": bench_harmonize_osc(model, [50, 200], seconds)}
        if midi:
            entry["harmonize_jack_midi"] = bench_harmonize_midi(model, [50, 200], seconds)
        entry["duet_gap_to_first_note"] = bench_duet(model, rounds=60)
        for phrasing in ("legato", "overlapping"):
            entry[f"duet_gap_to_first_note_{phrasing}"] = bench_duet(model, rounds=20, phrasing=phrasing)
        entry["ping_while_answering"] = bench_ping_during_answer(model)
        report[model] = entry
    report["sessions_gru"] = bench_sessions(models[0], [1, 4, 16], 50, seconds)
    return report
