"""liveai's own sound (#12): the synth played live, on its own thread, out of its own
audio process.

    the loop:            AudioEngine.sink(event)   liveai's notes, pedal and all-notes-off into an inbox
                         AudioEngine.tap(event)    the player's (audio.play = "all"), as their own layer
    the render thread:   inbox -> sample times -> SynthRenderer -> the shared Ring, a block ahead
    the audio process:   its PortAudio callback copies one block from the ring (liveai.audio.player)

Timing. Each callback leaves an anchor: sample `a` reached the callback at time `ta`;
so sample 0 reached it at ta - a / rate, the stream's start (the earliest of the last
0.25 s of anchors: callbacks run late, never early; a driver's lost cycles move the
start for good, and it follows them within 0.25 s; an underrun does not, as the ring
keeps every sample's time). A note due at time t is rendered
at sample (t - start) * rate + lead, where `lead`
is the ring's length plus a block, the time a sample rendered now waits to reach the
callback; so notes keep their spacing to the sample, and sound a constant `lead` after
they are due (3 blocks with the default ring of two: 16 ms at 256 frames, 8 at 128;
a ring of one block: 10.7 and 5.3 ms, with more underruns). One that maps before what is already rendered (it came late) starts at the
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
from .features import ALL_NOTES_OFF, PEDAL, NoteEvent
from .renderer import SynthRenderer
from .ring import ANCHOR_SEQ, BLOCKS, FRAMES, LAST_NS, UNDERRUNS, XRUNS, Ring
from .voices import LIVEAI, PLAYER

log = logging.getLogger(__name__)

ALL_OFF = (120, 123)  # all sound off, all notes off: what a panic sends
KEPT = 4096  # render times and note latencies kept for the status percentiles
RETRY_S = (0.5, 5.0)  # looking for a device again: first wait, longest wait
WEDGED_S = 2.0  # no callback for this long, and the audio process still there: it is stuck
STEADY_S = 5.0  # a stream that played this long resets the wait (one that dies at once does not)
START_S = 10.0  # the audio process has this long to say whether it plays
REALTIME_PRIORITY = 20  # SCHED_FIFO, below JACK's own threads (70 by default with -R)
# The stream's clock is read off this much of its latest callbacks: longer than a late
# callback, short enough to follow a driver that lost cycles (its sample count then
# stays behind the clock for good).
ANCHOR_WINDOW_S = 0.25


class AudioEngine:
    def __init__(self, config: AudioConfig, renderer: SynthRenderer) -> None:
        self.config = config
        self.renderer = renderer
        self.block = config.blocksize
        self.ring = Ring.create(config.ring_blocks * config.blocksize)
        self.lead = self.ring.capacity + self.block
        self.inbox: deque[tuple[float, float | None, int, int, int]] = deque()  # (t, arrival, pitch, velocity, layer)
        self.pending: list[tuple[int, float | None, int, int, int]] = []  # (sample, arrival, pitch, velocity, layer)
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
        os.set_blocking(self._wake_w, False)  # the callback never waits on a full pipe
        self._retry = RETRY_S[0]
        self._playing_since = 0.0
        self._lost_said = float("-inf")
        self._frames_said = False
        self._last_time = float("-inf")  # the latest event mapped, and its sample:
        self._last_sample = 0  # a later event never maps before it
        self._last_on: dict[tuple[int, int], int] = {}  # each (layer, pitch)'s latest note-on sample
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="liveai-audio", daemon=True)

    # -- the loop's side ----------------------------------------------------------------
    def sink(self, event: Event) -> None:
        """An event liveai sends out; never blocks. With audio.play = "all", an echo of
        the player's own note (thru: it carries the player's source) is left to the tap,
        which plays it already."""
        if event.source and self.config.play == "all":
            return
        self._take(event, LIVEAI)

    def tap(self, event: Event) -> None:
        """An event the player sent in (audio.play = "all"): their notes are their own
        layer, so their note-off, pedal or lost keyboard never ends liveai's note."""
        self._take(event, PLAYER)

    def _take(self, event: Event, layer: int) -> None:
        match event:
            case NoteOn():
                self.inbox.append((event.t, event.origin, event.pitch, event.velocity, layer))
            case NoteOff():
                self.inbox.append((event.t, event.origin, event.pitch, 0, layer))
            case ControlChange(controller=c) if c in ALL_OFF:
                self.inbox.append((event.t, None, ALL_NOTES_OFF, 0, layer))
            case ControlChange(pedal=bool(down)):  # True or False; None (no pedal) falls through
                self.inbox.append((event.t, None, PEDAL, 127 if down else 0, layer))

    def start(self) -> None:
        self.renderer.warm_up(self.block)
        self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        try:
            os.write(self._wake_w, b"\0")
        except BlockingIOError:  # wake-ups are queued already
            pass
        if self._thread.is_alive():
            self._thread.join(START_S + 5.0)  # it may be waiting for an audio process to start
        if self._thread.is_alive():
            log.warning("audio: the render thread did not stop; leaving its memory mapped")
            return
        self._stop_player()
        self.ring.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    # -- the render thread -------------------------------------------------------------
    def _run(self) -> None:
        self._ask_for_realtime()
        while not self._stopping.is_set():
            try:
                self._step()
            except Exception:  # a bug must not end liveai's sound for good: say it, start again
                log.exception("audio: the render thread failed; restarting the audio")
                self._stop_player()
                self.state, self.problem = "no device", "failed"
                self._stopping.wait(self._retry)

    def _step(self) -> None:
        """One turn: start the audio process if there is none, else render what the ring
        has room for (at most one ring's worth, so a slow machine cannot hold a realtime
        thread forever) and wait for the next callback."""
        if self.player is None or self.player.poll() is not None:
            if self.player is not None:
                self._player_ended()
            self.inbox.clear()  # no device: the notes are heard over MIDI and OSC only
            if not self._start_player():
                self._stopping.wait(self._retry)
                self._retry = min(self._retry * 2, RETRY_S[1])
            return
        if time.monotonic_ns() - int(self.ring.header[LAST_NS]) > WEDGED_S * 1e9:
            log.warning("audio: the audio process stopped calling back; starting it again")
            self._player_ended()  # it should have ended itself: a wedged device
            return
        if time.monotonic() - self._playing_since > STEADY_S:
            self._retry = RETRY_S[0]  # it has played a while: the next outage starts afresh
        for _ in range(self.ring.capacity // self.block + 1):
            if self.ring.space() < self.block:
                break
            self._render_block()
        self._time_onsets()
        self._check_frames()
        select.select([self._wake_r], [], [], 0.05)  # the next callback, or a look at the player
        try:
            os.read(self._wake_r, 4096)
        except BlockingIOError:
            pass

    def _check_frames(self) -> None:
        """Once per stream: a device that asks for more frames per callback than
        audio.blocksize (a JACK period of 1024, say) finds the ring short at every call."""
        frames = int(self.ring.header[FRAMES])
        if frames > self.ring.capacity and not self._frames_said:
            self._frames_said = True
            log.warning("audio: the device asks for %d frames per callback, more than the ring holds (%d): set "
                        "audio.blocksize = %d (with JACK: its period), or raise audio.ring_blocks", frames,
                        self.ring.capacity, frames)

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
        start = self.ring.write_position()
        events = self._events_in(start, self.block)
        t0 = time.perf_counter()
        audio = self.renderer.render(self.block, events)
        audio *= self.config.gain
        np.clip(audio, -1.0, 1.0, out=audio)
        self.render_ms[self.renders % KEPT] = (time.perf_counter() - t0) * 1000.0
        self.renders += 1
        self.ring.write(audio)

    def _events_in(self, start: int, n: int) -> list[NoteEvent]:
        """The events of samples [start, start + n), as (offset, pitch, velocity, layer)."""
        anchor = self.ring.anchor()
        stream_start = None if anchor is None else self._stream_start(anchor)
        while self.inbox:
            t, arrived, pitch, velocity, layer = self.inbox.popleft()
            sample = self._sample_of(t, start, stream_start)
            if t >= self._last_time:  # the stream's start moved between two takes: keep the order
                sample = max(sample, self._last_sample)
                self._last_time, self._last_sample = t, sample
            if velocity == 0:  # a note-off never lands before its pitch's note-on (an answer's t can be older)
                sample = max(sample, self._last_on.get((layer, pitch), sample))
            else:
                self._last_on[layer, pitch] = sample
            self.pending.append((sample, arrived, pitch, velocity, layer))
        if not self.pending:
            return []
        self.pending.sort(key=lambda e: e[0])  # stable: events at one sample keep their order
        events, kept = [], []
        for sample, arrived, pitch, velocity, layer in self.pending:
            if sample >= start + n:
                kept.append((sample, arrived, pitch, velocity, layer))
                continue
            if sample < start:
                self.late += 1
                sample = start
            events.append((sample - start, pitch, velocity, layer))  # all notes off and the pedal, at their samples
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
        if anchor is None or not self.onsets or self.onsets[0][0] >= anchor[0] + self.block:
            return
        stream_start = self._stream_start(anchor)  # the callback's own clock (the anchors' earliest)
        while self.onsets and self.onsets[0][0] < anchor[0] + self.block:
            onset, arrived = self.onsets.popleft()
            reached = stream_start + onset / self.config.samplerate
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
        self._playing_since = time.monotonic()
        self.inbox.clear()  # what came while it started is past: not a burst of old notes now
        self.pending.clear()
        log.info("audio: playing through %s (%d Hz, %d frames, output latency %.1f ms, notes sound %.1f ms "
                 "after they are due)", name, c.samplerate, self.block, 1000 * self.out_latency_s,
                 1000 * self.lead / c.samplerate)
        return True

    def _player_ended(self) -> None:
        # A device that opens and then never plays would say so every second: once a minute is enough.
        level = logging.WARNING if time.monotonic() - self._lost_said > 60.0 else logging.DEBUG
        self._lost_said = time.monotonic()
        log.log(level, "audio: lost %s; the notes go on over MIDI and OSC, looking for it again", self.device_name)
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
        h[BLOCKS] = h[UNDERRUNS] = h[XRUNS] = h[FRAMES] = 0
        self._frames_said = False
        h[ANCHOR_SEQ] = 0  # the anchor's sequence: no anchor until the next process's first callback
        # What was rendered for the old stream, and its voices, must not play on the next.
        self._last_time, self._last_sample = float("-inf"), 0
        self._last_on.clear()
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
