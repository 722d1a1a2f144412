"""`liveai bench --audio`: the neural synth's cost, note -> sound, and the live stream's
reliability.

- RTF (seconds of audio per second of rendering) on one CPU thread, at 48 and 24 kHz,
  for 1, 4, 8 and 16 held voices, blocks of 256 (the render process's work: features and
  the TorchScript step); at 48 kHz with 8 voices also the eager step, and 128-sample
  blocks, for what TorchScript and block size buy.
- The stream: a `liveai serve` with `audio.enabled` under `jackd -d dummy` (realtime
  scheduling when the machine allows it), at 256 and 128 frames, each with the default
  headroom (audio.headroom_ms) and 5 ms, the default before (`--frames N`: that period alone,
  the default headroom). First note -> sound on JACK's frame clock (liveai.bench.note_sound:
  notes as JACK MIDI into liveai in thru mode, its audio recorded in the same client);
  then, for `seconds`, a client plays 200 notes/s over OSC that liveai harmonizes (every
  answer note is a synth voice), or with `idle` nothing plays. Over that time: underruns,
  PortAudio's xruns and JACK's, the render process's CPU share and render time per
  block, late notes.
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from dataclasses import replace
from typing import Any

import torch

from ..audio.renderer import SynthRenderer
from ..config import AudioConfig
from ..models.synth import SynthNet
from ..runtime.loading import load_synth
from .harness import machine
from .jack import start_jackd
from .note_sound import NoteSoundProbe, XrunCounter, summary, wait_for_port
from .play import ChannelRoundTrip, PlayServer, osc_sender, play_notes

NARROWER_MS = 5.0  # the other headroom measured: the former default, 3 ms less latency
PITCHES = (48, 55, 60, 64, 67, 71, 74, 77, 52, 59, 62, 65, 69, 72, 76, 79)


def _rtf(renderer: SynthRenderer, voices: int, block: int, seconds: float) -> float:
    renderer.reset()
    for pitch in PITCHES[:voices]:
        renderer.features.apply(pitch, 100)
    blocks = max(int(seconds * renderer.sample_rate / block), 1)
    for _ in range(8):  # TorchScript's first calls optimise it
        renderer.render(block)
    start = time.perf_counter()
    for _ in range(blocks):
        renderer.render(block)
    return round(blocks * block / renderer.sample_rate / (time.perf_counter() - start), 2)


def bench_rtf(net: SynthNet, seconds: float = 3.0) -> dict[str, Any]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out: dict[str, Any] = {}
        for rate in (48_000, 24_000):
            model = net if rate == net.config.sample_rate else _at_rate(net, rate)
            renderer = SynthRenderer(model, polyphony=16, scripted=True)
            out[f"{rate // 1000}khz"] = {
                f"{v}_voices": _rtf(renderer, v, 256, seconds) for v in (1, 4, 8, 16)
            }
        out["48khz_8_voices_eager_step"] = _rtf(SynthRenderer(net, 16, scripted=False), 8, 256, seconds)
        out["48khz_8_voices_blocks_of_128"] = _rtf(SynthRenderer(net, 16, scripted=True), 8, 128, seconds)
        return out
    finally:
        torch.set_num_threads(threads)


def _at_rate(net: SynthNet, rate: int) -> SynthNet:
    """The same network at another rate (its cost; it was trained at its own rate)."""
    other = SynthNet(replace(net.config, sample_rate=rate))
    other.load_state_dict(net.state_dict())
    return other.eval()


def _start_jackd(stack: ExitStack, period: int) -> tuple[dict[str, str], bool]:
    """A dummy-driver JACK server of our own, realtime if the system allows it; its
    environment, and whether it is realtime."""
    name = f"liveai-bench-audio-{os.getpid()}-{period}"
    try:
        return start_jackd(stack, name, period, realtime=True), True
    except TimeoutError:
        return start_jackd(stack, name, period, realtime=False), False


def bench_stream(
    period: int,
    headroom_ms: float,
    seconds: float,
    rate: float = 200.0,
    idle: bool = False,
    model: str = "gru",
    probe_notes: int = 60,
) -> dict[str, Any]:
    with ExitStack() as stack:
        env, realtime = _start_jackd(stack, period)
        server = env["JACK_DEFAULT_SERVER"]
        srv = PlayServer(
            stack,
            model,
            [
                "server.mode=thru",
                "audio.enabled=true",
                f"audio.blocksize={period}",
                f"audio.headroom_ms={headroom_ms}",
            ],
            env=env,
            midi=True,
        )
        deadline = time.monotonic() + 60  # the render process loads torch first: slow on a busy machine
        while srv.status().get("audio") != "playing":
            if time.monotonic() > deadline:
                raise RuntimeError(f"the audio did not start: {srv.status().get('audio')}")
            time.sleep(0.2)
        time.sleep(2.0)
        probe = NoteSoundProbe(
            server,
            wait_for_port(server, "liveai in", midi=True),
            wait_for_port(server, "PortAudio:out_0", midi=False),
            notes=probe_notes,
        )
        note_to_sound = summary(probe.run())
        xruns = XrunCounter(server)
        stack.callback(xruns.close)
        render = RenderCpu(srv)
        before = srv.status()
        sent = 0  # note messages sent under load: liveai should take each one
        if idle:
            time.sleep(seconds)
            achieved = 0.0
        else:
            srv.peer.send("/liveai/mode", "harmonize")
            trip = ChannelRoundTrip()
            srv.answers.round_trip = trip
            send, sock = osc_sender(srv.port)
            stack.callback(sock.close)

            def counted(pitch: int, velocity: int, channel: int) -> None:
                nonlocal sent
                sent += 1
                send(pitch, velocity, channel)

            achieved = play_notes([counted], trip, rate, seconds, channels=16)
            time.sleep(0.5)
        after = srv.status()
        keys = ("audio_blocks", "audio_underruns", "audio_xruns", "audio_late_notes", "audio_dropped_notes")
        return {
            "frames": period,
            "headroom_ms": headroom_ms,
            "jackd_realtime": realtime,
            "render_realtime": bool(after.get("audio_realtime")),
            "seconds": seconds,
            "load": "none" if idle else f"{rate:g} notes/s harmonized",
            "notes_per_s": round(achieved, 1),
            "events_sent": sent,
            "events_in": int(after["events_in"]) - int(before["events_in"]),
            **{k.removeprefix("audio_"): int(after[k]) - int(before[k]) for k in keys},
            "jack_xruns": xruns.count,
            "render_cpu_percent": render.percent(),
            "render_ms_p50": after["audio_render_ms_p50"],
            "render_ms_p99": after["audio_render_ms_p99"],
            "block_ms": round(1000 * period / 48000, 2),
            # a block and the headroom: the setting
            "design_lead_ms": round(1000 * period / 48000 + headroom_ms, 2),
            "note_to_sound_ms": note_to_sound,
            "stream_latency_ms": after["audio_latency_ms"],
            "deadline_misses": int(after.get("deadline_misses", 0)) - int(before.get("deadline_misses", 0)),
        }


class RenderCpu:
    """The render process's CPU time from now on, as a share of one core."""

    def __init__(self, srv: PlayServer) -> None:
        assert srv.server.proc is not None
        self.pid = next(
            pid
            for pid, command in children(srv.server.proc.pid).items()
            if "liveai.audio.render_process" in command
        )
        self.start, self.cpu = time.monotonic(), self._cpu_s()

    def _cpu_s(self) -> float:
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def percent(self) -> float:
        return round(100 * (self._cpu_s() - self.cpu) / (time.monotonic() - self.start), 1)


def children(pid: int) -> dict[int, str]:
    """{pid: command line} of the processes whose parent is `pid`."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode()
        except OSError:  # it ended meanwhile
            continue
        if parent == pid:
            found[int(entry.name)] = command
    return found


def bench_audio(
    seconds: float,
    model_path: str | None = None,
    frames: int | None = None,
    idle: bool = False,
    probe_notes: int = 60,
) -> dict[str, Any]:
    net, path = load_synth(model_path or "synth", "bench --model")
    # RTF over 3 s of audio (from --seconds 9 on); a CI-sized run of seconds measures less
    rtf = bench_rtf(net, min(3.0, seconds / 3))
    report: dict[str, Any] = {"machine": machine(), "model": str(path), "rtf_one_thread": rtf}
    default = AudioConfig().headroom_ms
    if frames:  # one period, the default headroom
        streams: tuple[tuple[int, float], ...] = ((frames, default),)
    else:  # the default headroom and a narrower one, at each size
        streams = ((256, default), (256, NARROWER_MS), (128, default), (128, NARROWER_MS))
    report["stream"] = [
        bench_stream(period, headroom, seconds, idle=idle, probe_notes=probe_notes)
        for period, headroom in streams
    ]
    return report
