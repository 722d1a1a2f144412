"""The output process: opens the sound device with sounddevice/PortAudio and plays
what the render process (liveai.audio.render_process) puts in the shared ring.

    python -m liveai.audio.output --ring-fd N --wake-fd N --samplerate HZ --blocksize N
                                  --latency-s S [--device NAME]

Why a process of its own. Its callback is Python, and in liveai's process it would
wait for the GIL behind the event loop and the model worker, and a pause there is a pop
(https://github.com/spatialaudio/python-sounddevice/issues/87); beside the render
process's thread it would wait behind the synth.
Here nothing else runs Python. And PortAudio cannot let go of a JACK
server that vanished: closing the stream, or PortAudio itself, hangs, and its exit
then aborts (pa_jack.c). A lost device ends this process with `os._exit`, and liveai
starts a new one that finds the device again.

The callback only copies: one block from the ring, to every output channel. If the ring
is short it plays the last sample fading to silence over 2 ms, and the samples after
the gap rise over 2 ms from the level it left (silence, or part-way down after a short
gap), across callbacks if they are small: a dropout is a dip, not a click. It counts an
underrun once the render process running has played into this stream (a render process
starting again is not one), leaves its anchor, and wakes the render process with one
byte on a pipe. No torch, no numpy allocation (its buffers are made once), no lock. What
an earlier output process left in the ring is dropped before the stream starts.

It tells liveai on stdout, one line each: `playing <latency s> <device name>`, then
`lost` or nothing; or `no-device <reason>` (exit 3).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import Any

import numpy as np

from .children import run, say
from .ring import Ring

NO_DEVICE, LOST = 3, 4
LOST_AFTER_S = 0.5  # no callback for this long: the device is gone
FADE = 96  # samples (2 ms at 48 kHz) over which a gap's edges fade: a dropout is a dip, not a click
MOST_FRAMES = 16384  # the most frames a callback is given


def find_output(sd: Any, name: str = "") -> tuple[int, str, int]:
    """(index, name, output channels) of the device to play through: the first whose
    name contains `name` (any case); with no name, JACK's when a JACK server runs, else
    PortAudio's default output. ValueError when there is none."""
    devices, apis = sd.query_devices(), sd.query_hostapis()
    outputs = [(i, d) for i, d in enumerate(devices) if d["max_output_channels"] > 0]
    if name:
        chosen = next((c for c in outputs if name.lower() in c[1]["name"].lower()), None)
        if chosen is None:
            known = ", ".join(d["name"] for _, d in outputs) or "none"
            raise ValueError(f"no audio output named like {name!r} (outputs: {known})")
    else:
        jack = [c for c in outputs if "JACK" in apis[c[1]["hostapi"]]["name"]]
        default = sd.default.device[1]
        chosen = (
            jack[0]
            if jack
            else next((c for c in outputs if c[0] == default), outputs[0] if outputs else None)
        )
        if chosen is None:
            raise ValueError("no audio output device (no sound card, no JACK server)")
    index, device = chosen
    return index, str(device["name"]), min(2, int(device["max_output_channels"]))


class Callback:
    def __init__(self, ring: Ring, wake_fd: int) -> None:
        self.ring, self.wake_fd = ring, wake_fd
        self.mono = np.zeros(MOST_FRAMES, dtype=np.float32)
        self.fade_out = np.zeros(FADE + MOST_FRAMES, dtype=np.float32)  # from the last sample to silence
        self.fade_out[:FADE] = np.linspace(1.0, 0.0, FADE, endpoint=False)
        self.fade_in = np.linspace(0.0, 1.0, FADE, endpoint=False).astype(np.float32)
        self.fade_rest = (1.0 - self.fade_in).astype(np.float32)  # of the level a gap left
        self.scratch = np.zeros(FADE, dtype=np.float32)
        self.last = np.float32(0.0)  # the last sample played
        # A gap's two fades, each of which may span small callbacks: how far into each
        # (FADE: done), and from what level.
        self.fall, self.fall_from = FADE, np.float32(0.0)  # from the last sample before the gap
        self.rise, self.rise_from = FADE, np.float32(0.0)  # from the level the gap left (0 if it was long)
        self.header = ring.header
        ring.skip_to_written()  # an earlier stream's samples are not ours
        self.render_pid = ring.header.render_pid  # the render process last seen
        self.first_written = ring.written  # until the render process writes past it, silence is no underrun

    def __call__(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        now = time.monotonic_ns()
        ring, header = self.ring, self.header
        first = ring.read
        mono = self.mono[:frames]
        got = ring.read_into(mono)
        if self.rise < FADE and got:
            # From the level the gap left to the samples: no step either way. Into
            # buffers made before (no allocation here).
            if self.rise == 0:
                self.rise_from = self.last
            k, n = self.rise, min(got, FADE - self.rise)
            np.multiply(self.fade_rest[k : k + n], self.rise_from, out=self.scratch[:n])
            np.multiply(mono[:n], self.fade_in[k : k + n], out=mono[:n])
            np.add(mono[:n], self.scratch[:n], out=mono[:n])
            self.rise += n
        if header.render_pid != self.render_pid:  # a render process started or ended: prime again
            self.render_pid, self.first_written = header.render_pid, header.written
        if got < frames:
            if got or self.rise > 0:  # a gap begins here: fall from the last sample played
                self.fall, self.fall_from = 0, mono[got - 1] if got else self.last
            k = self.fall  # else the gap goes on from the last callback: so does its fall
            np.multiply(self.fade_out[k : k + frames - got], self.fall_from, out=mono[got:])
            self.fall = min(k + frames - got, FADE)
            self.rise = 0
            if header.written > self.first_written:  # the render process has begun to play into this stream
                header.underruns += 1
        self.last = mono[frames - 1]
        if status.output_underflow:
            header.xruns += 1
        outdata[:] = mono[:, None]
        ring.set_anchor(first, now)
        header.blocks += 1
        header.frames = frames
        header.last_ns = now
        try:
            os.write(self.wake_fd, b"\0")
        except BlockingIOError:  # wake-ups queued already (liveai made the pipe non-blocking)
            pass


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m liveai.audio.output")
    ap.add_argument("--ring-fd", type=int, required=True)
    ap.add_argument("--wake-fd", type=int, required=True, help="a byte per callback, to the render process")
    ap.add_argument("--samplerate", type=int, required=True)
    ap.add_argument("--blocksize", type=int, required=True)
    ap.add_argument("--latency-s", type=float, default=0.0, help="0: PortAudio's low latency")
    ap.add_argument("--device", default="", help="an output whose name contains this")
    return ap.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    rate, latency = args.samplerate, args.latency_s if args.latency_s > 0 else "low"
    parent = os.getppid()  # before anything slow: liveai may end meanwhile
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # liveai stops us: nothing to save
    try:
        import sounddevice as sd
    except OSError as exc:
        say(f"no-device PortAudio not found: {exc}")
        return NO_DEVICE
    ring = Ring.attach(args.ring_fd)
    try:
        index, name, channels = find_output(sd, args.device)
        stream = sd.OutputStream(
            samplerate=rate,
            blocksize=args.blocksize,
            device=index,
            channels=channels,
            dtype="float32",
            latency=latency,
            callback=Callback(ring, args.wake_fd),
        )
        ring.header.last_ns = time.monotonic_ns()  # the stream has LOST_AFTER_S to call back
        stream.start()
    except (ValueError, sd.PortAudioError) as exc:
        hint = ""
        if "rate" in str(exc).lower():
            hint = " (the synth plays at this rate only: run the device or the JACK server at it)"
        say(f"no-device {exc} at {rate} Hz{hint}")
        os._exit(NO_DEVICE)  # PortAudio's own exit may hang on a half-gone JACK server
    say(f"playing {float(stream.latency):.6f} {name}")
    while True:
        time.sleep(0.05)
        silent_s = (time.monotonic_ns() - ring.header.last_ns) / 1e9
        if os.getppid() != parent:  # liveai is gone
            os._exit(0)
        if not stream.active or silent_s > LOST_AFTER_S:
            say("lost")
            os._exit(LOST)


if __name__ == "__main__":
    sys.exit(run(main, sys.argv[1:], "no-device the output process failed:", NO_DEVICE, trace=False))
