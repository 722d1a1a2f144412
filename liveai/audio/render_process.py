"""The render process: the synth, playing liveai's notes into the shared ring, each
block just in time for the callback (liveai.audio.timeline).

    python -m liveai.audio.render_process --ring-fd N --events-fd N --wake-fd N --synth PATH
        --blocksize N --headroom-ms MS --polyphony N --gain G [--realtime]

Why a process of its own: in liveai's process the render waits for the GIL behind the
event loop and the model worker, and the ring runs dry under load (the A/B in
docs/figures.md, "The synth, 2026-12-06"). Here it has one thread and its own GIL, so a block can be
rendered a few milliseconds before the callback takes it, and a note sounds a block and
that headroom after it is due.

One thread: it waits on liveai's notes (a pipe of records, liveai.audio.wire), the
callback's wake-ups (a byte per callback) and the moment the next block is due, and
renders the block at that moment, with every note sent until then. It asks for realtime
scheduling (SCHED_FIFO, below JACK's own threads), runs torch on one thread, and freezes
its startup objects so a garbage collection never walks them. When liveai moves the
stream's number (a new output process), it starts from silence. It ends when liveai
does: liveai holds the only writing end of the pipe of notes, which then closes.

It says on stdout `ready <1 if realtime, else 0>`, or `failed <reason>` (exit 2); its
stderr is liveai's.
"""

from __future__ import annotations

import argparse
import gc
import os
import select
import signal
import sys
import time

import torch

from ..errors import ConfigError
from ..runtime.loading import load_synth
from .children import run, say
from .renderer import SynthRenderer
from .ring import Ring
from .timeline import Timeline
from .wire import RecordReader

REALTIME_PRIORITY = 20  # SCHED_FIFO, below JACK's own threads (70 by default with -R)
REPORT_S = 0.25  # how often the figures in the ring's header are refreshed
WAIT_S = 0.05  # the longest wait: how soon it sees liveai gone or a new stream


def ask_for_realtime() -> bool:
    """SCHED_FIFO when the system allows it (root, or a user with an rtprio limit, as
    JACK's users have): woken on time, it runs before liveai's loop and model worker,
    whose work can wait a block where the sound cannot."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
    except (AttributeError, PermissionError, OSError):
        return False
    return True


class RenderLoop:
    """The render process's one thread, a turn at a time (`turn`; tests drive it)."""

    def __init__(self, timeline: Timeline, reader: RecordReader, wake_fd: int) -> None:
        self.timeline, self.reader, self.wake_fd = timeline, reader, wake_fd
        self.ring = timeline.ring
        self.stream = self.ring.header.stream
        self.reported = float("-inf")

    def turn(self) -> bool:
        """Render the next block if it is due, else wait for it, a note or a callback;
        False once liveai is gone (its end of the pipe of notes closed)."""
        self.ring.header.render_ns = time.monotonic_ns()  # alive: liveai's watchdog reads it
        if self.ring.header.stream != self.stream:  # liveai started a new output process
            self.stream = self.ring.header.stream
            self.timeline.reset()
        due = self.timeline.due()
        now = time.monotonic()
        if due is not None and now >= due:
            self.take_notes()  # every note sent until now, so the block holds each one due in it
            self.timeline.render_next()
            return not self.reader.closed
        wait = WAIT_S if due is None else min(due - now, WAIT_S)
        readable, _, _ = select.select([self.reader.fd, self.wake_fd], [], [], wait)
        if self.reader.fd in readable:
            self.take_notes()
        if self.wake_fd in readable:
            try:
                os.read(self.wake_fd, 4096)
            except BlockingIOError:  # another reader took it (there is none; be safe)
                pass
        if now - self.reported > REPORT_S:
            self.reported = now
            self.timeline.report()
        return not self.reader.closed

    def take_notes(self) -> None:
        records = self.reader.read()
        if self.ring.anchor() is not None:  # no stream: the notes are heard over MIDI and OSC only
            self.timeline.take(records)


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m liveai.audio.render_process")
    ap.add_argument("--ring-fd", type=int, required=True)
    ap.add_argument("--events-fd", type=int, required=True, help="liveai's notes, as records")
    ap.add_argument("--wake-fd", type=int, required=True, help="the callback's wake-ups")
    ap.add_argument("--synth", required=True, help="the synth checkpoint")
    ap.add_argument("--blocksize", type=int, required=True)
    ap.add_argument("--headroom-ms", type=float, required=True)
    ap.add_argument("--polyphony", type=int, required=True)
    ap.add_argument("--gain", type=float, default=1.0)
    ap.add_argument("--realtime", action="store_true", help="ask for SCHED_FIFO")
    return ap.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # liveai stops us: nothing to save
    torch.set_num_threads(1)
    try:
        net, _ = load_synth(args.synth)
    except ConfigError as exc:
        say(f"failed {exc}")
        return 2
    renderer = SynthRenderer(net, args.polyphony, scripted=True)
    renderer.warm_up(args.blocksize)
    ring = Ring.attach(args.ring_fd)
    reader = RecordReader(args.events_fd)
    reader.read()  # what liveai sent before we ran is past
    timeline = Timeline(renderer, ring, args.blocksize, args.headroom_ms / 1000.0, args.gain)
    loop = RenderLoop(timeline, reader, args.wake_fd)
    realtime = args.realtime and ask_for_realtime()
    ring.header.realtime = int(realtime)
    gc.collect()
    gc.freeze()  # the startup objects (torch's, the network's) are never walked again
    ring.header.render_ns = time.monotonic_ns()  # before the pid: a running process always has one
    ring.header.render_pid = os.getpid()  # the callback counts underruns once this process plays
    say(f"ready {int(realtime)}")
    while loop.turn():
        pass
    return 0  # liveai is gone


if __name__ == "__main__":
    sys.exit(run(main, sys.argv[1:], "failed the render process:", 2, trace=True))
