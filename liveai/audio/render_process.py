"""The render process (#12): the synth, playing liveai's notes into the shared ring, each
block just in time for the callback (liveai.audio.timeline).

    python -m liveai.audio.render_process RING_FD EVENTS_FD WAKE_FD SYNTH BLOCKSIZE HEADROOM_MS POLYPHONY GAIN REALTIME

Why a process of its own. In liveai's process the render waited for the GIL behind
the event loop and the model worker: under 200 notes/s its time per block doubled at
p99 and the ring ran dry (4 underruns in 10 minutes with two blocks ahead). Here it
has one thread and its own GIL, so a block can be rendered a few milliseconds before
the callback takes it, and a note sounds a block and that headroom after it is due.

One thread: it waits on liveai's notes (a pipe of records, liveai.audio.wire), the
callback's wake-ups (a byte per callback) and the moment the next block is due, and
renders the block at that moment, with every note sent until then. It asks for realtime
scheduling (SCHED_FIFO, below JACK's own threads), runs torch on one thread, and freezes
its startup objects so a garbage collection never walks them. When liveai moves the
stream's number (a new audio process), it starts from silence. It ends when liveai
does: liveai holds the only writing end of the pipe of notes, which then closes.

It says on stdout `ready <1 if realtime, else 0>`, or `failed <reason>` (exit 2); its
stderr is liveai's.
"""

from __future__ import annotations

import gc
import os
import select
import signal
import sys
import time
import traceback

import torch

from ..errors import ConfigError
from ..runtime.loading import load_synth
from .renderer import SynthRenderer
from .ring import REALTIME, RENDERER, STREAM, Ring
from .timeline import Timeline
from .wire import RecordReader

REALTIME_PRIORITY = 20  # SCHED_FIFO, below JACK's own threads (70 by default with -R)
REPORT_S = 0.25  # how often the figures in the ring's header are refreshed
WAIT_S = 0.05  # the longest wait: how soon it sees liveai gone or a new stream


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


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
        self.stream = int(self.ring.header[STREAM])
        self.reported = float("-inf")

    def turn(self) -> bool:
        """Render the next block if it is due, else wait for it, a note or a callback;
        False once liveai is gone (its end of the pipe of notes closed)."""
        if int(self.ring.header[STREAM]) != self.stream:  # liveai started a new audio process
            self.stream = int(self.ring.header[STREAM])
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


def main(argv: list[str]) -> int:
    ring_fd, events_fd, wake_fd = (int(a) for a in argv[:3])
    synth_path, blocksize, headroom_ms = argv[3], int(argv[4]), float(argv[5])
    polyphony, gain, realtime = int(argv[6]), float(argv[7]), argv[8] == "1"
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # liveai stops us: nothing to save
    torch.set_num_threads(1)
    try:
        net, _ = load_synth(synth_path)
    except ConfigError as exc:
        say(f"failed {exc}")
        return 2
    renderer = SynthRenderer(net, polyphony, scripted=True)
    renderer.warm_up(blocksize)
    ring = Ring.attach(ring_fd)
    reader = RecordReader(events_fd)
    reader.read()  # what liveai sent before we ran is past
    loop = RenderLoop(Timeline(renderer, ring, blocksize, headroom_ms / 1000.0, gain), reader, wake_fd)
    realtime = realtime and ask_for_realtime()
    ring.header[REALTIME] = int(realtime)
    gc.collect()
    gc.freeze()  # the startup objects (torch's, the network's) are never walked again
    ring.header[RENDERER] = os.getpid()  # the callback counts underruns once this process plays
    say(f"ready {int(realtime)}")
    while loop.turn():
        pass
    return 0  # liveai is gone


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except Exception as exc:  # noqa: BLE001 (liveai reads the reason on stdout, the trace on its stderr)
        traceback.print_exc()
        say(f"failed the render process: {type(exc).__name__}: {exc}")
        os._exit(2)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
