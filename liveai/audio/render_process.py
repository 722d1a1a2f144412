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
renders the block at that moment. It asks for realtime scheduling (SCHED_FIFO, below
JACK's own threads), runs torch on one thread, and freezes its startup objects so a
garbage collection never walks them. When liveai moves the stream's number (a new
audio process), it starts from silence. It ends when liveai does.

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
from .ring import REALTIME, STREAM, Ring
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


def main(argv: list[str]) -> int:
    ring_fd, events_fd, wake_fd = (int(a) for a in argv[:3])
    synth_path, blocksize, headroom_ms = argv[3], int(argv[4]), float(argv[5])
    polyphony, gain, realtime = int(argv[6]), float(argv[7]), argv[8] == "1"
    parent = os.getppid()  # before anything slow: liveai may end meanwhile
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
    timeline = Timeline(renderer, ring, blocksize, headroom_ms / 1000.0, gain)
    reader = RecordReader(events_fd)
    reader.read()  # what liveai sent before we ran is past
    realtime = realtime and ask_for_realtime()
    ring.header[REALTIME] = int(realtime)
    gc.collect()
    gc.freeze()  # the startup objects (torch's, the network's) are never walked again
    say(f"ready {int(realtime)}")

    stream = int(ring.header[STREAM])
    reported = 0.0
    while True:
        if int(ring.header[STREAM]) != stream:  # liveai started a new audio process
            stream = int(ring.header[STREAM])
            timeline.reset()
        due = timeline.due()
        now = time.monotonic()
        if due is not None and now >= due:
            timeline.render_next()
            continue
        wait = WAIT_S if due is None else min(due - now, WAIT_S)
        readable, _, _ = select.select([events_fd, wake_fd], [], [], wait)
        if events_fd in readable:
            records = reader.read()
            if ring.anchor() is not None:  # no stream: the notes are heard over MIDI and OSC only
                timeline.take(records)
        if wake_fd in readable:
            try:
                os.read(wake_fd, 4096)
            except BlockingIOError:  # another reader took it (there is none; be safe)
                pass
        timeline.time_onsets()
        if now - reported > REPORT_S:
            reported = now
            timeline.report()
            if os.getppid() != parent:  # liveai is gone
                os._exit(0)


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except Exception as exc:  # noqa: BLE001 (liveai reads the reason on stdout, the trace on its stderr)
        traceback.print_exc()
        say(f"failed the render process: {type(exc).__name__}: {exc}")
        os._exit(2)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
