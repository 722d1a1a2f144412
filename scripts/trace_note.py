"""Where a harmonized note's time goes: one note traced from the OSC socket to the
answer leaving it, stage by stage, at 200 notes/s.

A `liveai serve` runs as a child process with stamps (time.perf_counter_ns, the
machine's monotonic clock, the same in both processes) wrapped around its stages; the
server's own code is unchanged. This process plays the notes (as `liveai bench --play`
does: 16 channels in turn, each note held 20 ms) and stamps each note sent and each
answer heard. Each note's stages are then matched in time order (a stage's first stamp
after the stage before, for the note's pitch where the stage knows it):

    sent -> received (the datagram in the loop) -> engine (Engine.handle) -> behaviour
    (the harmonizer's note_on) -> submitted (Worker.submit) -> taken (the call begins,
    on the worker thread or at once on the loop's) -> voicing (the harmony model's step
    and the choice) -> voiced -> answered (the answer's callback runs on the loop) ->
    out (the answer's sendto) -> heard (back in this process)

    .venv/bin/python scripts/trace_note.py --seconds 10 --out docs/figures/2026-12-07-note-trace.json
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

STAGES = [
    "sent",
    "received",
    "engine",
    "behaviour",
    "submitted",
    "taken",
    "voicing",
    "voiced",
    "answered",
    "out",
    "heard",
]
PITCHES = [60, 62, 64, 65, 67, 69, 71, 72]
HOLD_S = 0.02


# -- the server side: stamps around the stages, dumped at exit ---------------------------
def serve_traced(out: str, serve_args: list[str]) -> int:
    """Run `liveai serve` with stamps; write them to `out` when it stops."""
    from liveai import cli
    from liveai.behaviours.harmonize import ModelHarmonizer
    from liveai.core.engine import Engine
    from liveai.events import NoteOn
    from liveai.models.voicer import Voicer
    from liveai.runtime import worker
    from liveai.transports import osc

    stamps: list[tuple[str, int, Any]] = []
    ns = time.perf_counter_ns

    def wrap(cls: Any, name: str, stage: str, tag: Any, after: str | None = None) -> None:
        inner = getattr(cls, name)

        def traced(*args: Any, **kwargs: Any) -> Any:
            t = ns()
            value = tag(*args)
            if value is not False:
                stamps.append((stage, t, value))
            result = inner(*args, **kwargs)
            if after is not None and value is not False:
                stamps.append((after, ns(), value))
            return result

        setattr(cls, name, traced)

    def note_on(event: Any) -> Any:
        return (event.pitch, event.channel + 1) if isinstance(event, NoteOn) and event.velocity else False

    wrap(osc._Endpoint, "datagram_received", "received", lambda self, data, addr: data)
    wrap(Engine, "handle", "engine", lambda self, event: note_on(event))
    wrap(ModelHarmonizer, "note_on", "behaviour", lambda self, event: note_on(event))
    wrap(worker.Worker, "submit", "submitted", lambda self, session, job, quick=False: _kind(job))
    wrap(worker.Worker, "_call", "taken", lambda self, running: None)
    wrap(Voicer, "voice", "voicing", lambda self, ask: ask.melody, after="voiced")
    wrap(ModelHarmonizer, "_model_answer", "answered", lambda self, pending, voices: None)
    wrap(osc.OscTransport, "reply", "out", lambda self, address, *args: _answer(address, args))

    def dump() -> None:
        rows = [(s, t, _decode(v) if s == "received" else v) for s, t, v in stamps]
        Path(out).write_text(json.dumps(rows))

    atexit.register(dump)
    return cli.main(["serve", *serve_args])


def _kind(job: Any) -> str:
    return "token job" if hasattr(job, "send") else "call"


def _answer(address: str, args: tuple[Any, ...]) -> Any:
    return tuple(args[:3]) if address == "/liveai/out/note" and args[1] else False


def _decode(data: bytes) -> Any:
    from pythonosc.osc_message import OscMessage

    try:
        message = OscMessage(data)
    except Exception:  # not a message (a bundle): not one of the traced notes
        return None
    if message.address == "/liveai/note" and message.params[1]:
        return (message.params[0], message.params[2])
    return None


# -- this side: play, hear, match --------------------------------------------------------
def play(port: int, seconds: float, rate: float) -> tuple[list[tuple[int, int, int]], list[tuple[int, Any]]]:
    """Notes sent (time, pitch, channel) and note-ons heard (time, (pitch, velocity, channel))."""
    from liveai.bench.harness import osc_message

    heard: list[tuple[int, Any]] = []
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    cache: dict[tuple[int, int, int], bytes] = {}
    plan = []
    for i in range(int(rate * seconds)):
        channel, pitch = i % 16 + 1, PITCHES[i % len(PITCHES)]
        plan += [(i / rate, channel, pitch, 100), (i / rate + HOLD_S, channel, pitch, 0)]
    plan.sort(key=lambda e: (e[0], e[3]))
    sent = []
    start = time.perf_counter() + 0.05
    for at, channel, pitch, velocity in plan:
        wait = start + at - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        key = (pitch, velocity, channel)
        if key not in cache:
            cache[key] = osc_message("/liveai/note", pitch, velocity, channel)
        if velocity:
            sent.append((time.perf_counter_ns(), pitch, channel))
        sock.sendto(cache[key], ("127.0.0.1", port))
    sock.close()
    return sent, heard


def match(sent: list[tuple[int, int, int]], stamps: list[Any], heard: list[Any]) -> list[dict[str, int]]:
    """Each note's stage times (ns), the notes whose every stage was found."""
    by_stage: dict[str, list[tuple[int, Any]]] = {s: [] for s in STAGES}
    for stage, t, tag in stamps:
        if stage in by_stage:
            by_stage[stage].append((t, tag))
    by_stage["heard"] = heard
    for rows in by_stage.values():
        rows.sort(key=lambda r: r[0])
    notes = []
    for t0, pitch, channel in sent:
        times = {"sent": t0}
        for stage in STAGES[1:]:
            want = _want(stage, pitch, channel)
            at = next((t for t, tag in by_stage[stage] if t >= times[_prev(stage)] and want(tag)), None)
            if at is None or at - t0 > 50_000_000:  # not found within 50 ms: the rule answered, or lost
                break
            times[stage] = at
        else:
            notes.append(times)
    return notes


def _prev(stage: str) -> str:
    return STAGES[STAGES.index(stage) - 1]


def _want(stage: str, pitch: int, channel: int) -> Any:
    if stage in ("received", "engine", "behaviour"):
        return lambda tag: tag is not None and tuple(tag) == (pitch, channel)
    if stage == "voicing":
        return lambda tag: tag == pitch
    if stage in ("out", "heard"):
        return lambda tag: tag is not None and tag[2] == channel
    if stage == "submitted":
        return lambda tag: tag == "call"
    return lambda tag: True


def summary(notes: list[dict[str, int]]) -> dict[str, Any]:
    from liveai.bench.harness import summarize

    total = sorted(n["heard"] - n["sent"] for n in notes)
    slowest = [n for n in notes if n["heard"] - n["sent"] >= total[int(0.99 * (len(total) - 1))]]
    median = min(notes, key=lambda n: abs(n["heard"] - n["sent"] - total[len(total) // 2]))
    stages: dict[str, Any] = {}
    for a, b in zip(STAGES, STAGES[1:]):
        gaps = [(n[b] - n[a]) / 1e6 for n in notes]
        figures = summarize([g / 1e3 for g in gaps], len(gaps), 0)
        stages[f"{a} -> {b}"] = {
            "p50_ms": figures["p50_ms"],
            "p99_ms": figures["p99_ms"],
            "max_ms": figures["max_ms"],
            "mean_ms_slowest_1pct": round(sum((n[b] - n[a]) / 1e6 for n in slowest) / len(slowest), 3),
        }
    return {
        "notes_traced": len(notes),
        "round_trip": summarize([t / 1e9 for t in total], len(total), 0),
        "stages": stages,
        "median_note_ms_from_sent": {s: round((median[s] - median["sent"]) / 1e6, 3) for s in STAGES},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--serve", metavar="STAMPS", help=argparse.SUPPRESS)  # the child's side
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--model", default="gru")
    parser.add_argument("--out", metavar="FILE", help="also write the JSON here")
    args, rest = parser.parse_known_args()
    if args.serve:
        return serve_traced(args.serve, rest)
    from liveai.bench.harness import OscAnswers, OscPeer, ask_status, free_port, machine, wait_pong
    from liveai.bench.learn_live import commit

    with ExitStack() as stack:
        answers = OscAnswers()
        stack.callback(answers.close)
        port = free_port()
        stamps_path = Path(f"/tmp/trace-note-{os.getpid()}.json")
        sets = [
            f"osc.port={port}",
            f'osc.targets=["127.0.0.1:{answers.port}"]',
            "midi.api=none",
            "web.port=0",
            f"model.continuation={args.model}",
            "model.seed=7",
            "server.mode=harmonize",
            "harmonize.by=harmony",
        ]
        command = [sys.executable, __file__, "--serve", str(stamps_path)]
        for item in sets:
            command += ["--set", item]
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peer = stack.enter_context(OscPeer(port))
        wait_pong(peer.send, answers, "up", timeout=60)
        heard: list[tuple[int, Any]] = []

        class Heard:
            def answer(self, pitch: int, velocity: int, channel: int, t: float) -> None:
                if velocity:
                    heard.append((time.perf_counter_ns(), (pitch, velocity, channel)))

        answers.round_trip = Heard()
        play(port, 1.0, 50)  # warm-up
        time.sleep(0.3)
        heard.clear()
        misses = ask_status(peer.send, answers, timeout=5)["deadline_misses"]
        sent, _ = play(port, args.seconds, args.rate)
        time.sleep(0.5)
        status = ask_status(peer.send, answers, timeout=5)
        child.terminate()
        child.wait(timeout=20)
        stamps = json.loads(stamps_path.read_text())
        stamps_path.unlink()
    notes = match(sent, stamps, heard)
    load = os.getloadavg()
    report = {
        "made_by": f"scripts/trace_note.py --seconds {args.seconds:g} --rate {args.rate:g}",
        "machine": machine(),
        "commit": commit(),
        "load_average_1_5_15": [round(x, 2) for x in load],
        "model": args.model,
        "notes_sent": len(sent),
        "deadline_misses": status["deadline_misses"] - misses,  # answered by the rule: not traced
        "model_steps_and_calls": {k: v for k, v in status.items() if k.startswith(f"model_{args.model}_")},
        **summary(notes),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
