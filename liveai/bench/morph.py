"""`liveai bench --morph`: the morph VAE in process and the morph loop from outside.

In process, on one CPU thread (what the model worker gets): encode one phrase, decode
one point, decode the grid (`morph.steps` points in one batch), and the knob's lookup
of a grid point (a cache hit).

Over OSC against `liveai serve` with the shipped models and `per_source` sessions: the
session "loop" captures a phrase again and again (capture -> `/liveai/out/morph_ready`,
the grid decoded), then plays morph while the session "keys" harmonizes at
`HARMONY_RATE` notes/s; the loop's note-ons, stamped as they arrive, are measured
against the clock's 16th grid at the known tempo, anchored at the loop's first note.
With `--midi` the same notes are heard over JACK MIDI too (the dummy driver, 64
frames at 48 kHz).
"""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack
from typing import Any

import mido
import numpy as np
import torch

from ..behaviours.morph_desk import Desk, Pattern
from ..config import Config
from ..core.stats import percentiles_ms
from ..models.checkpoint import load_checkpoint
from ..models.shipped import MORPH, find_checkpoint
from ..models.vae import MelodyVAE
from ..runtime.quantize import quantize_int8
from .harness import OscAnswers, OscPeer, ServerProcess, ask_status, free_port, machine, wait_pong
from .jack import jack, start_jack
from .jack import port as jack_port

PHRASE = [60, 62, 64, 65, 67, 65, 64, 62]
HARMONY_RATE = 50.0
BPM = 120.0


def _timed(fn: Any, repeats: int) -> dict[str, float]:
    fn()  # warm up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    p50, p99 = percentiles_ms(times, (50, 99))
    return {"p50_ms": round(p50, 3), "p99_ms": round(p99, 3), "repeats": repeats}


def bench_vae(vae: MelodyVAE, steps: int = 17, lean: float = Config().morph.lean) -> dict[str, Any]:
    """The model as given (the live server quantizes it to int8 on a CPU), decoding as
    the desk does (the fewest changes along the path, each step within `lean` nats)."""
    torch.set_num_threads(1)
    a = [60, 128, 62, 128, 64, 128, 65, 128] * 4
    b = a[::-1]
    with torch.inference_mode():
        z, _ = vae.encode(torch.tensor([a, b]))
        out = {
            "threads": torch.get_num_threads(),
            "lean": lean,
            "encode_one": _timed(lambda: vae.encode(torch.tensor([a])), 200),
            "decode_one": _timed(lambda: vae.decode_points(z[0], z[1], [0.3], a, b, lean), 100),
            f"grid_of_{steps}": _timed(lambda: vae.encode_and_grid({"a": a, "b": b}, steps, lean), 30),
        }
    desk = Desk(None, vae)  # type: ignore[arg-type]  # a grid point needs no context
    latents, grid = vae.encode_and_grid({"a": a, "b": a}, steps, lean)
    desk.grid = [Pattern(tuple(t), 90) for t in grid]
    desk.slots = {"a": None, "b": None}  # type: ignore[dict-item]  # only their presence is looked at
    rng = np.random.default_rng(0)
    points = (rng.integers(0, steps, 10_000) / (steps - 1)).tolist()
    t0 = time.perf_counter()
    lookups = []
    for x in points:
        t1 = time.perf_counter()
        desk.pattern_at(x)
        lookups.append(time.perf_counter() - t1)
    p50, p99 = percentiles_ms(lookups, (50, 99))
    out["knob_lookup"] = {
        "p50_ms": round(p50, 5),
        "p99_ms": round(p99, 5),
        "lookups": len(points),
        "total_ms": round((time.perf_counter() - t0) * 1000, 2),
    }
    return out


class _LoopNotes:
    """Note-ons of the loop's channel, stamped as they arrive."""

    def __init__(self, channel: int) -> None:
        self.channel = channel
        self.onsets: list[float] = []
        self.lock = threading.Lock()

    def answer(self, pitch: int, velocity: int, channel: int, t: float) -> None:
        if velocity > 0 and channel == self.channel:
            with self.lock:
                self.onsets.append(t)


def grid_jitter_ms(onsets: list[float], step_s: float) -> dict[str, float]:
    """Each onset against its 16th of the clock's grid: the grid has the clock's step
    (`step_s`, from the known tempo) and starts at the loop's first note; a note's error
    is its onset minus the nearest grid time (early < 0, late > 0; at most half a step).
    Nothing is fitted: a tempo that is off or drifts shows as errors that grow.

    Keys: notes; step_ms, the clock's 16th; p50_ms, p99_ms, max_ms of |error|; mean_ms,
    the signed mean error (how far the first note, the anchor, sat from the others)."""
    t = np.asarray(onsets)
    steps = np.round((t - t[0]) / step_s)
    error = (t - (t[0] + steps * step_s)) * 1000.0
    size = np.abs(error)
    return {
        "notes": len(t),
        "step_ms": round(step_s * 1000.0, 4),
        "p50_ms": round(float(np.percentile(size, 50)), 3),
        "p99_ms": round(float(np.percentile(size, 99)), 3),
        "max_ms": round(float(size.max()), 3),
        "mean_ms": round(float(error.mean()), 3),
    }


def _jack_listener(stack: ExitStack, loop: _LoopNotes) -> None:
    """A JACK MIDI input that stamps the loop's note-ons as they arrive."""
    start_jack(stack)
    midi = mido.Backend("mido.backends.rtmidi/UNIX_JACK")

    def heard(msg: mido.Message) -> None:
        if msg.type == "note_on":
            loop.answer(msg.note, msg.velocity, msg.channel + 1, time.perf_counter())

    listener = midi.open_input("morph listener", virtual=True, client_name="morph", callback=heard)
    stack.callback(listener.close)


def bench_morph_live(seconds: float, captures: int = 20, midi: bool = False) -> dict[str, Any]:
    """`midi`: the loop's notes are heard over JACK MIDI too (a dummy server is started)."""
    over_midi = _LoopNotes(channel=1)
    with ExitStack() as stack:
        if midi:
            _jack_listener(stack, over_midi)
        answers = OscAnswers()
        stack.callback(answers.close)
        port = free_port()
        server = ServerProcess(
            [
                f"osc.port={port}",
                f'osc.targets=["127.0.0.1:{answers.port}"]',
                "midi.api=jack" if midi else "midi.api=none",
                "server.sessions=per_source",
                f"clock.bpm={BPM}",
                "clock.source=internal",
                "morph.channel=1",
            ]
        ).start()
        stack.callback(server.stop)
        peer = stack.enter_context(OscPeer(port))
        wait_pong(peer.send, answers, "up", timeout=30)
        if midi:
            jack("jack_connect", jack_port("liveai out"), jack_port("morph listener"))
        for pitch in PHRASE:  # a phrase for the loop session to capture
            peer.send("/liveai/note", pitch, 90, 1, "loop")
            time.sleep(0.2)
            peer.send("/liveai/note", pitch, 0, 1, "loop")
            time.sleep(0.05)
        answers.drain()
        ready = []
        for i in range(captures):
            slot = "ab"[i % 2]
            t0 = time.perf_counter()
            peer.send("/liveai/morph/capture", slot, "loop")
            while (got := answers.receive_timed(2.0)) is not None and got[1][0] != "/liveai/out/morph_ready":
                pass
            if got is not None:
                ready.append(got[0] - t0)
            time.sleep(0.05)
        loop = _LoopNotes(channel=1)
        answers.round_trip = loop
        with over_midi.lock:
            over_midi.onsets.clear()  # the captured phrase's harmony came before
        peer.send("/liveai/mode", "morph", "loop")
        peer.send("/liveai/morph", 0.0)
        peer.send("/liveai/play")
        keys = stack.enter_context(OscPeer(port))
        started = time.perf_counter()
        sent = 0
        while time.perf_counter() - started < seconds:  # another session harmonizes meanwhile
            pitch = 48 + sent % 24
            keys.send("/liveai/note", pitch, 80, 2, "keys")
            time.sleep(0.5 / HARMONY_RATE)
            keys.send("/liveai/note", pitch, 0, 2, "keys")
            time.sleep(0.5 / HARMONY_RATE)
            sent += 1
            if sent % 50 == 0:  # the knob turns now and then: grid points and between them
                peer.send("/liveai/morph", [0.0, 0.5, 1.0, 0.53, 0.25][sent // 50 % 5])
        peer.send("/liveai/stop")
        time.sleep(0.3)
        answers.round_trip = None
        answers.drain()
        status = ask_status(peer.send, answers, timeout=5)
    p50, p99 = percentiles_ms(ready, (50, 99)) if ready else (None, None)
    return {
        "capture_to_grid_ready": {
            "captures": captures,
            "ready": len(ready),
            "p50_ms": None if p50 is None else round(p50, 2),
            "p99_ms": None if p99 is None else round(p99, 2),
        },
        "loop_jitter_osc": grid_jitter_ms(loop.onsets, 60.0 / BPM / 4) if len(loop.onsets) > 2 else None,
        "loop_jitter_jack_midi": grid_jitter_ms(over_midi.onsets, 60.0 / BPM / 4)
        if len(over_midi.onsets) > 2
        else None,
        "harmonize_notes_meanwhile": sent,
        "seconds": seconds,
        "deadline_misses": status.get("deadline_misses"),
        "sounding_after_stop": status.get("sounding_notes"),
    }


def bench_morph(seconds: float = 10.0, midi: bool = False) -> dict[str, Any]:
    vae, info = load_checkpoint(find_checkpoint(MORPH), "cpu", archs=("vae",))
    return {
        "machine": machine(),
        "model": {"steps": info["train_info"].get("steps")},
        "in_process": {
            "float32": bench_vae(vae),  # type: ignore[arg-type]
            "int8 (live on a CPU)": bench_vae(quantize_int8(vae)),
        },  # type: ignore[arg-type]
        "live": bench_morph_live(seconds, midi=midi),
    }
