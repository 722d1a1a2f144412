"""The synth's two processes, kept running: a thread in liveai starts the render process
and then the output process, watches them, and starts again whichever ends, stalls or
cannot start, waiting longer each time up to a few seconds (a JACK server started, a
card plugged in, a bug that crashed the render).

What each process counted is summed into `counts` when it ends, so liveai's status
counts over the whole run. `watch` takes the time, and the processes come from `spawn`,
so a test drives it with fakes.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..config import AudioConfig
from ..core.stats import LogThrottle
from .children import Child
from .ring import Ring

log = logging.getLogger(__name__)

RETRY_S = (0.5, 5.0)  # starting a process again: first wait, longest wait
WEDGED_S = 2.0  # no callback for this long, and the output process still there: it is stuck
STALLED_S = 2.0  # the callback takes blocks, and the render process wrote none for this long: it is stuck
STEADY_S = 5.0  # a stream that played this long resets the wait (one that dies at once does not)
WATCH_S = 0.1  # how often the processes are looked at

Spawn = Callable[[str, Sequence[str], Sequence[int], bool], Child]


def spawn_child(module: str, args: Sequence[str], fds: Sequence[int], quiet: bool) -> Child:
    return Child(module, args, fds, quiet)


@dataclass(frozen=True)
class ChildSpec:
    """One kind of synth process: how it is started and what of the ring's header is its own."""

    name: str
    module: str
    ready: str  # the first word it says once it runs
    start_s: float  # how long it has to say so
    quiet: bool  # its stderr dropped (PortAudio's and ALSA's chatter)
    counted: tuple[str, ...]  # header counters summed into the status when it ends
    figures: tuple[str, ...]  # header fields of its own, zeroed when it ends


RENDER = ChildSpec(
    name="render process",
    module="liveai.audio.render_process",
    ready="ready",
    start_s=60.0,  # to load torch and the synth on a busy machine
    quiet=False,
    counted=("renders", "late"),
    figures=(
        *("render_pid", "renders", "late", "voices", "realtime", "render_p50_us", "render_p99_us"),
        "render_ns",
    ),
)
OUTPUT = ChildSpec(
    name="output process",
    module="liveai.audio.output",
    ready="playing",
    start_s=10.0,
    quiet=True,
    counted=("blocks", "underruns", "xruns"),
    # anchor_seq 0: no anchor (and no notes taken) until the next stream's first callback
    figures=("blocks", "underruns", "xruns", "frames", "anchor_seq"),
)


class Slot:
    """One synth process's life: the one running, why none runs, when to try again."""

    def __init__(self, spec: ChildSpec) -> None:
        self.spec = spec
        self.child: Child | None = None
        self.problem = ""  # why it is not running, as last said
        self.retry_s, self.next_try, self.starts = RETRY_S[0], 0.0, 0
        self.since: float | None = None  # when a watch first saw it running
        # Its problems, a new one said at once: one that crashes just after it is ready, or a
        # device that opens and never plays, would say so at every start.
        self.say = LogThrottle(log, "more", interval_s=60.0, level=logging.WARNING, repeats=logging.DEBUG)

    def wait_longer(self, now: float) -> None:
        self.next_try = now + self.retry_s
        self.retry_s = min(self.retry_s * 2, RETRY_S[1])


class SynthSupervisor:
    def __init__(
        self,
        config: AudioConfig,
        synth: Path,
        ring: Ring,
        events_r: int,
        wake: tuple[int, int],
        spawn: Spawn = spawn_child,
    ) -> None:
        self.config, self.synth, self.ring = config, synth, ring
        self.events_r, (self.wake_r, self.wake_w) = events_r, wake
        self.spawn = spawn
        self.render, self.output = Slot(RENDER), Slot(OUTPUT)
        self.device_name, self.out_latency_s = "", 0.0
        self.counts: Counter[str] = Counter()  # what ended processes counted
        self._counting = threading.Lock()  # a status read sees a count in `counts` or the header, once
        self._playing_since = 0.0
        # The ring's write position when it last moved; None: look afresh at the next watch
        # (a start can take a minute, so the time it began is no measure).
        self._written: int | None = None
        self._written_at = 0.0
        # Said once per stream: reset when the output process ends.
        self._say_frames = LogThrottle(log, "more", interval_s=math.inf, level=logging.WARNING)
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="liveai-synth", daemon=True)

    def total(self, name: str) -> int:
        """A header counter over the whole run: the ended processes' and the running one's."""
        with self._counting:
            return self.counts[name] + getattr(self.ring.header, name)

    @property
    def state(self) -> str:
        """playing; or starting, no synth (the render process is not running), no device."""
        if self.render.child is None:
            return "no synth" if self.render.problem else "starting"
        if self.output.child is None:
            return "no device" if self.output.problem else "starting"
        return "playing"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> bool:
        """Stop the thread and both processes; False if the thread would not stop (it
        is then left, with what it holds)."""
        self.stopping.set()
        if self._thread.is_alive():
            self._thread.join(10.0)
        if self._thread.is_alive():
            return False
        self._end(self.output)
        self._end(self.render)
        return True

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.watch(time.monotonic())
            except Exception:  # a bug must not end liveai's sound for good: say it, start again, later
                log.exception("the supervisor failed; restarting the synth")
                self._end(self.output)
                self._end(self.render)
                self.render.problem = "failed"
                self.render.wait_longer(time.monotonic())
            self.stopping.wait(WATCH_S)

    def watch(self, now: float) -> None:
        """One look: start what is not running (when its wait is over), and see that the
        stream still calls back and the render process still renders into it."""
        render, output = self.render, self.output
        if render.child is not None and not render.child.running:
            code = render.child.exit_code()
            self._restart(
                render, now, f"ended ({code})", "the render process ended (%s); starting it again", code
            )
        if render.child is None:
            if now >= render.next_try and not self._start_render(now):
                render.wait_longer(now)
            return  # the stream opens once the synth is ready to play into it
        if output.child is not None and not output.child.running:
            self._output_lost(now, f"its process ended ({output.child.exit_code()})")
        if output.child is None:
            if now >= output.next_try and not self._start_output(now):
                output.wait_longer(now)
            return
        if now - self.ring.header.last_ns / 1e9 > WEDGED_S:  # it should have ended itself: a wedged device
            self._output_lost(now, "its process stopped calling back")
            return
        if self._frames_fit(now) and self._render_stalled(now):
            self._restart(render, now, "stalled", "the render process stopped rendering; starting it again")
            return
        if now - self._playing_since > STEADY_S:
            output.retry_s = RETRY_S[0]  # it has played a while: the next outage starts afresh
        for slot in (render, output):
            if slot.since is None:
                slot.since = now
            elif now - slot.since > STEADY_S:
                slot.say.reset()  # the next problem is a new one, said at once

    def _render_stalled(self, now: float) -> bool:
        """The callback takes blocks (checked before) and the ring's write position has
        not moved for STALLED_S: a render process that hangs (it would never end)."""
        written = self.ring.header.written
        if self._written is None or written != self._written:
            self._written, self._written_at = written, now
        return now - self._written_at > STALLED_S

    def _frames_fit(self, now: float) -> bool:
        """False, said once per stream, when the device asks for more frames per callback
        than half the ring (a JACK period of 8192, say): it finds the ring short at every
        call, and the render process, with no room to write, is not to blame."""
        frames = self.ring.header.frames
        if 2 * frames <= self.ring.capacity:
            return True
        self._written = None  # when they fit again, the render process is judged afresh
        self._say_frames(
            now,
            "the device asks for %d frames per callback, more than the ring can keep ready "
            "(%d): set a smaller period (audio.blocksize, JACK's -p)",
            frames,
            self.ring.capacity,
        )
        return False

    # -- starting and ending -----------------------------------------------------------
    def _start(self, slot: Slot, now: float, args: list[str], fds: tuple[int, ...]) -> str | None:
        """Start `slot`'s process; what it said after its ready word, or None (its
        problem kept, and said through its throttle)."""
        spec = slot.spec
        child = self.spawn(spec.module, args, fds, spec.quiet)
        line = child.first_line(spec.start_s, self.stopping)
        word, _, rest = line.partition(" ")
        if word == spec.ready:
            slot.child, slot.problem, slot.since = child, "", None  # running from here on: the state says so
            slot.starts += 1
            return rest
        problem = rest or line or f"the {spec.name} ended ({child.exit_code()}) before it was ready"
        slot.child = child
        self._end(slot)  # and count what it played, if anything
        if not self.stopping.is_set():
            message = "the %s cannot start: %s; serving without audio, trying again"
            slot.say(now, message, spec.name, problem, problem=problem)
        slot.problem = problem
        return None

    def _end(self, slot: Slot, problem: str | None = None) -> None:
        """Stop its process, if one runs, and sum what it counted."""
        child, slot.child = slot.child, None
        if problem is not None:
            slot.problem = problem
        if child is None:
            return
        child.stop()
        header = self.ring.header
        with self._counting:
            for name in slot.spec.counted:
                self.counts[name] += getattr(header, name)
            for name in slot.spec.figures:
                setattr(header, name, 0)
        if slot is self.output:
            self._say_frames.reset()

    def _start_render(self, now: float) -> bool:
        c = self.config
        args = [
            *("--ring-fd", str(self.ring.fd), "--events-fd", str(self.events_r)),
            *("--wake-fd", str(self.wake_r), f"--synth={self.synth}"),
            *("--blocksize", str(c.blocksize), "--headroom-ms", str(c.headroom_ms)),
            *("--polyphony", str(c.polyphony), "--gain", str(c.gain)),
            *(["--realtime"] if c.realtime else []),
        ]
        rest = self._start(self.render, now, args, (self.ring.fd, self.events_r, self.wake_r))
        if rest is None:
            return False
        self.render.retry_s = RETRY_S[0]
        self._written = None  # it has STALLED_S from the next watch to play into the stream
        if rest != "1" and c.realtime:
            log.warning(
                "the render process runs without realtime scheduling (not allowed: root, an rtprio "
                "limit, or LimitRTPRIO= in a systemd unit allow it); expect dropouts, or raise "
                "audio.headroom_ms"
            )
        return True

    def _start_output(self, now: float) -> bool:
        c = self.config
        self.ring.header.stream += 1  # the render process starts this stream from silence
        args = [
            *("--ring-fd", str(self.ring.fd), "--wake-fd", str(self.wake_w)),
            *("--samplerate", str(c.samplerate), "--blocksize", str(c.blocksize)),
            *("--latency-s", str(c.latency_ms / 1000.0), f"--device={c.device}"),
        ]
        rest = self._start(self.output, now, args, (self.ring.fd, self.wake_w))
        if rest is None:
            return False
        latency, _, name = rest.partition(" ")
        self.out_latency_s, self.device_name = float(latency), name
        self._playing_since, self._written = now, None
        log.info(
            "playing through %s (%d Hz, %d frames, output latency %.1f ms, notes sound %.1f ms "
            "after they are due)",
            name,
            c.samplerate,
            c.blocksize,
            1000 * self.out_latency_s,
            1000 * c.blocksize / c.samplerate + c.headroom_ms,
        )
        return True

    def _restart(self, slot: Slot, now: float, problem: str, message: str, *args: object) -> None:
        """End `slot`'s process for `problem`, said through its throttle; the next watch
        starts another."""
        slot.say(now, message, *args, problem=problem)
        self._end(slot, problem)

    def _output_lost(self, now: float, how: str) -> None:
        message = "lost %s (%s); the notes go on over MIDI and OSC, looking for it again"
        self._restart(self.output, now, "lost", message, self.device_name, how)
