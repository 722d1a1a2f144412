"""The synth's two processes, kept running (#12): a thread in liveai starts the render
process and then the audio process, watches them, and starts again whichever ends,
stalls or cannot start, waiting longer each time up to a few seconds (a JACK server
started, a card plugged in, a bug that crashed the render).

What each process counted is carried over when it is replaced, so liveai's status
counts over the whole run. `watch` takes the time, and the processes come from `spawn`,
so a test drives it with fakes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..config import AudioConfig
from .children import Child
from .ring import (
    ANCHOR_SEQ,
    BLOCKS,
    FRAMES,
    LAST_NS,
    LATE,
    REALTIME,
    RENDER_P50_US,
    RENDER_P99_US,
    RENDERER,
    RENDERS,
    STREAM,
    UNDERRUNS,
    VOICES,
    WRITTEN,
    XRUNS,
    Ring,
)

log = logging.getLogger(__name__)

RETRY_S = (0.5, 5.0)  # starting a process again: first wait, longest wait
WEDGED_S = 2.0  # no callback for this long, and the audio process still there: it is stuck
STALLED_S = 2.0  # the callback takes blocks, and the render process wrote none for this long: it is stuck
STEADY_S = 5.0  # a stream that played this long resets the wait (one that dies at once does not)
PLAYER_START_S = 10.0  # the audio process has this long to say whether it plays
RENDER_START_S = 60.0  # the render process this long to load torch and the synth (a busy machine)
WATCH_S = 0.1  # how often the processes are looked at
RENDER_FIGURES = (RENDERS, LATE, VOICES, REALTIME, RENDER_P50_US, RENDER_P99_US)

Spawn = Callable[[str, Sequence[str], Sequence[int], bool], Child]


def spawn_child(module: str, args: Sequence[str], fds: Sequence[int], quiet: bool) -> Child:
    return Child(module, args, fds, quiet)


class AudioSupervisor:
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
        self.render: Child | None = None
        self.player: Child | None = None
        self.device_name, self.out_latency_s = "", 0.0
        self.problems = {"render": "", "player": ""}  # why each process is not running, as last said
        # What earlier processes counted: audio processes, then render processes.
        self.blocks_before = self.underruns_before = self.xruns_before = 0
        self.renders_before = self.late_before = 0
        self.opens = self.render_starts = 0
        self._retry = {"render": RETRY_S[0], "player": RETRY_S[0]}
        self._next_try = {"render": 0.0, "player": 0.0}
        self._playing_since = 0.0
        # The ring's write position when it last moved; None: look afresh at the next watch
        # (a start can take a minute, so the time it began is no measure).
        self._written: int | None = None
        self._written_at = 0.0
        self._lost_said = float("-inf")
        self._frames_said = False
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="liveai-audio", daemon=True)

    @property
    def state(self) -> str:
        """playing; or starting, no synth (the render process is not running), no device."""
        if self.render is None:
            return "no synth" if self.problems["render"] else "starting"
        if self.player is None:
            return "no device" if self.problems["player"] else "starting"
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
        self._stop_player()
        self._stop_render()
        return True

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.watch(time.monotonic())
            except Exception:  # a bug must not end liveai's sound for good: say it, start again, later
                log.exception("audio: the supervisor failed; restarting the audio")
                self._stop_player()
                self._stop_render()
                self.problems["render"] = "failed"
                self._wait_longer("render", time.monotonic())
            self.stopping.wait(WATCH_S)

    def watch(self, now: float) -> None:
        """One look: start what is not running (when its wait is over), and see that the
        stream still calls back and the render process still renders into it."""
        if self.render is not None and not self.render.running:
            code = self.render.exit_code()
            log.warning("audio: the render process ended (%s); starting it again", code)
            self._stop_render()
            self.problems["render"] = f"the render process ended ({code})"
        if self.render is None:
            if now >= self._next_try["render"] and not self._start_render(now):
                self._wait_longer("render", now)
            return  # the stream opens once the synth is ready to play into it
        if self.player is not None and not self.player.running:
            self._player_ended(now)
        if self.player is None:
            if now >= self._next_try["player"] and not self._start_player(now):
                self._wait_longer("player", now)
            return
        if now - int(self.ring.header[LAST_NS]) / 1e9 > WEDGED_S:
            log.warning("audio: the audio process stopped calling back; starting it again")
            self._player_ended(now)  # it should have ended itself: a wedged device
            return
        if self._frames_fit() and self._render_stalled(now):
            log.warning("audio: the render process stopped rendering; starting it again")
            self._stop_render()
            self.problems["render"] = "stalled"
            return
        if now - self._playing_since > STEADY_S:
            self._retry["player"] = RETRY_S[0]  # it has played a while: the next outage starts afresh

    def _render_stalled(self, now: float) -> bool:
        """The callback takes blocks (checked before) and the ring's write position has
        not moved for STALLED_S: a render process that hangs (it would never end)."""
        written = int(self.ring.header[WRITTEN])
        if self._written is None or written != self._written:
            self._written, self._written_at = written, now
        return now - self._written_at > STALLED_S

    def _wait_longer(self, which: str, now: float) -> None:
        self._next_try[which] = now + self._retry[which]
        self._retry[which] = min(self._retry[which] * 2, RETRY_S[1])

    def _frames_fit(self) -> bool:
        """False, said once per stream, when the device asks for more frames per callback
        than half the ring (a JACK period of 8192, say): it finds the ring short at every
        call, and the render process, with no room to write, is not to blame."""
        frames = int(self.ring.header[FRAMES])
        if 2 * frames <= self.ring.capacity:
            return True
        self._written = None  # when they fit again, the render process is judged afresh
        if not self._frames_said:
            self._frames_said = True
            log.warning(
                "audio: the device asks for %d frames per callback, more than the ring can keep ready "
                "(%d): set a smaller period (audio.blocksize, JACK's -p)",
                frames,
                self.ring.capacity,
            )
        return False

    # -- the render process ----------------------------------------------------------------
    def _start_render(self, now: float) -> bool:
        c = self.config
        args = [
            str(self.ring.fd),
            str(self.events_r),
            str(self.wake_r),
            str(self.synth),
            str(c.blocksize),
            str(c.headroom_ms),
            str(c.polyphony),
            str(c.gain),
            "1" if c.realtime else "0",
        ]
        render = self.spawn(
            "liveai.audio.render_process", args, (self.ring.fd, self.events_r, self.wake_r), False
        )
        line = render.first_line(RENDER_START_S, self.stopping)
        word, _, rest = line.partition(" ")
        if word != "ready":
            problem = rest or line or f"the render process ended ({render.exit_code()}) before it was ready"
            render.stop()
            if (
                problem != self.problems["render"] and not self.stopping.is_set()
            ):  # once per outage, not per try
                log.warning("audio: the synth cannot play: %s; serving without audio, trying again", problem)
            self.problems["render"] = problem
            return False
        self.render, self.problems["render"] = render, ""  # running from here on: the state says so
        self.render_starts += 1
        self._retry["render"] = RETRY_S[0]
        self._written = None  # it has STALLED_S from the next watch to play into the stream
        if rest != "1" and c.realtime:
            log.warning(
                "audio: the render process runs without realtime scheduling (not allowed: root, an rtprio "
                "limit, or LimitRTPRIO= in a systemd unit allow it); expect dropouts, or raise "
                "audio.headroom_ms"
            )
        return True

    def _stop_render(self) -> None:
        render, self.render = self.render, None
        if render is None:
            return
        render.stop()
        h = self.ring.header
        h[RENDERER] = 0  # no render process: the callback's silence meanwhile is no underrun
        self.renders_before += int(h[RENDERS])
        self.late_before += int(h[LATE])
        for slot in RENDER_FIGURES:
            h[slot] = 0

    # -- the audio process -------------------------------------------------------------
    def _start_player(self, now: float) -> bool:
        c = self.config
        self.ring.header[STREAM] += 1  # the render process starts this stream from silence
        args = [
            str(self.ring.fd),
            str(self.wake_w),
            str(c.samplerate),
            str(c.blocksize),
            str(c.latency_ms / 1000.0),
            c.device,
        ]
        player = self.spawn("liveai.audio.player", args, (self.ring.fd, self.wake_w), True)
        line = player.first_line(PLAYER_START_S, self.stopping)
        word, _, rest = line.partition(" ")
        if word != "playing":
            problem = rest or line or f"the audio process ended ({player.exit_code()}) before it played"
            self.player = player
            self._stop_player()  # and count what it played, if anything
            if problem != self.problems["player"] and not self.stopping.is_set():  # once per outage
                log.warning("audio: %s; serving without audio, looking again", problem)
            self.problems["player"] = problem
            return False
        latency, _, name = rest.partition(" ")
        self.out_latency_s, self.device_name, self.problems["player"] = float(latency), name, ""
        self.player = player  # running from here on: the state says so
        self.opens += 1
        self._playing_since, self._written = now, None
        log.info(
            "audio: playing through %s (%d Hz, %d frames, output latency %.1f ms, notes sound %.1f ms "
            "after they are due)",
            name,
            c.samplerate,
            c.blocksize,
            1000 * self.out_latency_s,
            1000 * c.blocksize / c.samplerate + c.headroom_ms,
        )
        return True

    def _player_ended(self, now: float) -> None:
        # A device that opens and then never plays would say so every second: once a minute is enough.
        level = logging.WARNING if now - self._lost_said > 60.0 else logging.DEBUG
        self._lost_said = now
        log.log(
            level, "audio: lost %s; the notes go on over MIDI and OSC, looking for it again", self.device_name
        )
        self._stop_player()
        self.problems["player"] = "lost"

    def _stop_player(self) -> None:
        player, self.player = self.player, None
        if player is None:
            return
        player.stop()
        h = self.ring.header
        self.blocks_before += int(h[BLOCKS])
        self.underruns_before += int(h[UNDERRUNS])
        self.xruns_before += int(h[XRUNS])
        h[BLOCKS] = h[UNDERRUNS] = h[XRUNS] = h[FRAMES] = 0
        self._frames_said = False
        h[ANCHOR_SEQ] = (
            0  # the anchor's sequence: no anchor (and no notes taken) until the next first callback
        )
