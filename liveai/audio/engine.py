"""liveai's own sound (#12): the synth played live, on its own thread, out of its own
audio process.

    the loop:            AudioEngine.sink(event)   note-ons/offs (and all-notes-off) into an inbox
    the render thread:   inbox -> sample times -> SynthRenderer -> the shared Ring, a block ahead
    the audio process:   its PortAudio callback copies one block from the ring (liveai.audio.player)

Timing. Each callback leaves an anchor: sample `a` reached the callback at time `ta`;
so sample 0 reached it at ta - a / rate, the stream's start (the earliest of the last
0.25 s of anchors: callbacks run late, never early; an underrun or a driver's lost
cycles move the start for good, and it follows them within 0.25 s). A note due at time t is rendered
at sample (t - start) * rate + lead, where `lead`
is the ring's length plus a block, the time a sample rendered now waits to reach the
callback; so notes keep their spacing to the sample, and sound a constant `lead` after
they are due (2 blocks with the default ring of one block: 10.7 ms at 256 frames, 5.3
at 128). One that maps before what is already rendered (it came late) starts at the
next sample rendered and is counted late.

Faults. No device at start: one warning, and liveai looks again, waiting longer each
time up to a few seconds (a JACK server started, a card plugged in). A device lost
mid-show ends the audio process; it is started again the same way. Meanwhile the notes
go on over MIDI and OSC, and the synth's voices are silenced, so a device that comes
back does not replay old notes.
"""

from __future__ import annotations

import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections import deque
from typing import IO, Any

import numpy as np

from ..config import AudioConfig
from ..events import ControlChange, Event, NoteOff, NoteOn
from .renderer import SynthRenderer
from .ring import ANCHOR_SEQ, BLOCKS, UNDERRUNS, XRUNS, Ring

log = logging.getLogger(__name__)

ALL_OFF = (120, 123)  # all sound off, all notes off: what a panic sends
KEPT = 4096  # render times and note latencies kept for the status percentiles
RETRY_S = (0.5, 5.0)  # looking for a device again: first wait, longest wait
START_S = 10.0  # the audio process has this long to say whether it plays
REALTIME_PRIORITY = 20  # SCHED_FIFO, below JACK's own threads (70 by default with -R)
# The stream's clock is read off this much of its latest callbacks: longer than a late
# callback, shorter than a driver's lost cycles or an underrun take to be believed
# (they move the stream's sample count against the clock for good).
ANCHOR_WINDOW_S = 0.25


class AudioEngine:
    def __init__(self, config: AudioConfig, renderer: SynthRenderer) -> None:
        self.config = config
        self.renderer = renderer
        self.block = config.blocksize
        self.ring = Ring.create(config.ring_blocks * config.blocksize)
        self.lead = self.ring.capacity + self.block
        self.inbox: deque[tuple[float, float | None, int, int]] = deque()  # (t, arrival, pitch, velocity)
        self.pending: list[tuple[int, float | None, int, int]] = []  # (sample, arrival, pitch, velocity)
        self.onsets: deque[tuple[int, float]] = deque()  # (sample, arrival) of note-ons still to sound
        self.starts: deque[tuple[int, float]] = deque()  # (anchor sample, when sample 0 reached the callback)
        self.render_ms = np.zeros(KEPT)
        self.note_ms = np.zeros(KEPT)
        self.renders = self.timed = self.late = self.opens = 0
        self.state, self.device_name, self.out_latency_s, self.problem = "starting", "", 0.0, ""
        self.blocks_before = self.underruns_before = self.xruns_before = 0  # from earlier audio processes
        self.player: subprocess.Popen[str] | None = None
        self.realtime = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="liveai-audio", daemon=True)

    # -- the loop's side ----------------------------------------------------------------
    def sink(self, event: Event) -> None:
        """An outgoing (or, with audio.play = "all", incoming) event; never blocks."""
        match event:
            case NoteOn():
                self.inbox.append((event.t, event.origin, event.pitch, event.velocity))
            case NoteOff():
                self.inbox.append((event.t, event.origin, event.pitch, 0))
            case ControlChange(controller=c) if c in ALL_OFF:
                self.inbox.append((event.t, None, -1, 0))

    def start(self) -> None:
        self.renderer.warm_up(self.block)
        self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        os.write(self._wake_w, b"\0")
        if self._thread.is_alive():
            self._thread.join(5.0)
        self._stop_player()
        self.ring.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    # -- the render thread -------------------------------------------------------------
    def _run(self) -> None:
        self._ask_for_realtime()
        retry = RETRY_S[0]
        while not self._stopping.is_set():
            if self.player is None or self.player.poll() is not None:
                if self.player is not None:
                    self._player_ended()
                self.inbox.clear()  # no device: the notes are heard over MIDI and OSC only
                if self._start_player():
                    retry = RETRY_S[0]
                else:
                    self._stopping.wait(retry)
                    retry = min(retry * 2, RETRY_S[1])
                continue
            while self.ring.space() >= self.block:
                self._render_block()
            self._time_onsets()
            select.select([self._wake_r], [], [], 0.05)  # the next callback, or a look at the player
            try:
                os.read(self._wake_r, 4096)
            except BlockingIOError:
                pass

    def _ask_for_realtime(self) -> None:
        """Realtime scheduling for this thread when the system allows it (root, or a user
        with an rtprio limit, as JACK's users have): woken by the callback, it then runs
        before the loop and the model worker, whose work can wait a block, where the
        sound cannot. Its heavy part (the TorchScript step) runs without the GIL."""
        if not self.config.realtime or not hasattr(os, "sched_setscheduler"):
            return
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))  # 0: this thread
            self.realtime = True
        except (PermissionError, OSError) as exc:
            log.info("audio: the render thread runs without realtime scheduling (%s); see audio.ring_blocks", exc)

    def _render_block(self) -> None:
        start = self.ring.written
        events = self._events_in(start, self.block)
        t0 = time.perf_counter()
        audio = self.renderer.render(self.block, events)
        audio *= self.config.gain
        np.clip(audio, -1.0, 1.0, out=audio)
        self.render_ms[self.renders % KEPT] = (time.perf_counter() - t0) * 1000.0
        self.renders += 1
        self.ring.write(audio)

    def _events_in(self, start: int, n: int) -> list[tuple[int, int, int]]:
        """The events of samples [start, start + n), as (offset, pitch, velocity)."""
        anchor = self.ring.anchor()
        stream_start = None if anchor is None else self._stream_start(anchor)
        while self.inbox:
            t, arrived, pitch, velocity = self.inbox.popleft()
            self.pending.append((self._sample_of(t, start, stream_start), arrived, pitch, velocity))
        if not self.pending:
            return []
        self.pending.sort(key=lambda e: e[0])
        events, kept = [], []
        for sample, arrived, pitch, velocity in self.pending:
            if sample >= start + n:
                kept.append((sample, arrived, pitch, velocity))
                continue
            if sample < start:
                self.late += 1
                sample = start
            if pitch < 0:  # all notes off
                self.renderer.all_off()
                continue
            events.append((sample - start, pitch, velocity))
            if velocity > 0 and arrived is not None:
                self.onsets.append((sample, arrived))
        self.pending = kept
        return events

    def _sample_of(self, t: float, written: int, stream_start: float | None) -> int:
        if stream_start is None:  # no callback yet: as soon as it can
            return written
        return round((t - stream_start) * self.config.samplerate) + self.lead

    def _stream_start(self, anchor: tuple[int, float]) -> float:
        """When sample 0 would have reached the callback: of the last ANCHOR_WINDOW_S of
        anchors, the earliest. A callback can only run late (a busy CPU, a slow driver),
        never early, so the earliest is the truest, and one late callback does not move
        the notes after it."""
        sample, at = anchor
        starts = self.starts
        if not starts or starts[-1][0] != sample:
            starts.append((sample, at - sample / self.config.samplerate))
            while at - starts[0][1] - starts[0][0] / self.config.samplerate > ANCHOR_WINDOW_S:
                starts.popleft()
        return min(start for _, start in starts)

    def _time_onsets(self) -> None:
        """Note-ons whose first sample a callback has taken: arrival -> that moment."""
        anchor = self.ring.anchor()
        if anchor is None:
            return
        sample, at = anchor
        while self.onsets and self.onsets[0][0] < sample + self.block:
            onset, arrived = self.onsets.popleft()
            # when the callback took it, on the callback's own clock (the anchors' earliest)
            reached = self._stream_start(anchor) + onset / self.config.samplerate
            self.note_ms[self.timed % KEPT] = (reached - arrived) * 1000.0
            self.timed += 1

    # -- the audio process -------------------------------------------------------------
    def _start_player(self) -> bool:
        c = self.config
        self.ring.skip_to_written()
        self.ring.write(np.zeros(self.ring.space(), dtype=np.float32))  # the first callback finds a full ring
        cmd = [sys.executable, "-m", "liveai.audio.player", str(self.ring.fd), str(self._wake_w), str(c.samplerate),
               str(self.block), str(c.latency_ms / 1000.0), c.device]
        # Its stderr is JACK's and ALSA's chatter while they look for servers and cards, at
        # every look; what matters it says on stdout.
        self.player = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                       pass_fds=(self.ring.fd, self._wake_w))
        line = _read_line(self.player.stdout, START_S)
        word, _, rest = line.partition(" ")
        if word != "playing":
            if not line:  # it said nothing: it died, or hangs in PortAudio
                try:
                    code: int | str = self.player.wait(1.0)
                except subprocess.TimeoutExpired:
                    code = "no answer"
            problem = rest or line or f"the audio process ended ({code}) before it played"
            self._stop_player()
            if problem != self.problem:  # one warning per outage, not one per look
                log.warning("audio: %s; serving without audio, looking again", problem)
            self.problem, self.state = problem, "no device"
            return False
        latency, _, name = rest.partition(" ")
        self.out_latency_s, self.device_name, self.problem, self.state = float(latency), name, "", "playing"
        self.opens += 1
        log.info("audio: playing through %s (%d Hz, %d frames, output latency %.1f ms, notes sound %.1f ms "
                 "after they are due)", name, c.samplerate, self.block, 1000 * self.out_latency_s,
                 1000 * self.lead / c.samplerate)
        return True

    def _player_ended(self) -> None:
        log.warning("audio: lost %s; the notes go on over MIDI and OSC, looking for it again", self.device_name)
        self._stop_player()
        self.state, self.problem = "no device", "lost"

    def _stop_player(self) -> None:
        player, self.player = self.player, None
        if player is not None:
            if player.poll() is None:
                player.terminate()
                try:
                    player.wait(2.0)
                except subprocess.TimeoutExpired:
                    player.kill()
                    player.wait()
            if player.stdout is not None:
                player.stdout.close()
        h = self.ring.header
        self.blocks_before += int(h[BLOCKS])
        self.underruns_before += int(h[UNDERRUNS])
        self.xruns_before += int(h[XRUNS])
        h[BLOCKS] = h[UNDERRUNS] = h[XRUNS] = 0
        h[ANCHOR_SEQ] = 0  # the anchor's sequence: no anchor until the next process's first callback
        # What was rendered for the old stream, and its voices, must not play on the next.
        self.onsets.clear()
        self.starts.clear()
        self.pending.clear()
        self.renderer.reset()

    # -- status --------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        h = self.ring.header
        renders = self.render_ms[:min(self.renders, KEPT)]
        notes = self.note_ms[:min(self.timed, KEPT)]
        playing = self.state == "playing"
        return {
            "audio": self.state,
            "audio_device": self.device_name,
            "audio_blocks": self.blocks_before + int(h[BLOCKS]),
            "audio_underruns": self.underruns_before + int(h[UNDERRUNS]),
            "audio_xruns": self.xruns_before + int(h[XRUNS]),
            "audio_render_ms_p50": _percentile(renders, 50),
            "audio_render_ms_p99": _percentile(renders, 99),
            "audio_voices": self.renderer.voices(),
            "audio_latency_ms": round(1000.0 * (self.out_latency_s + self.lead / self.config.samplerate), 2)
            if playing else 0.0,
            "audio_note_ms_p50": _percentile(notes, 50),
            "audio_note_ms_p99": _percentile(notes, 99),
            "audio_late_notes": self.late,
            "audio_reopens": max(self.opens - 1, 0),  # a device found again after a loss
            "audio_realtime": self.realtime,
        }


def _read_line(stream: IO[str] | None, timeout: float) -> str:
    if stream is None or not select.select([stream], [], [], timeout)[0]:
        return ""
    return stream.readline().strip()


def _percentile(values: np.ndarray, q: float) -> float:
    return round(float(np.percentile(values, q)), 3) if len(values) else 0.0
