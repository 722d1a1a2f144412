"""liveai's own sound (#12): the synth, played live by two processes of its own that
liveai starts, watches and starts again.

    the loop:            AudioEngine.sink(event)   liveai's notes, pedal and all-notes-off, as records on a pipe
                         AudioEngine.tap(event)    the player's (audio.play = "all"), as their own layer
    the render process:  records -> the stream's samples -> the synth -> the shared Ring, each block just
                         in time for the callback (liveai.audio.render_process, liveai.audio.timeline)
    the audio process:   its PortAudio callback copies one block from the ring (liveai.audio.player)

Neither process shares liveai's GIL: the callback never waits for liveai's Python, and
the render never waits behind the event loop or the model worker. A note sounds
`audio.blocksize` frames and `audio.headroom_ms` after it is due, and notes keep their
spacing to the sample.

Faults. No device at start: one warning, and liveai looks again, waiting longer each
time up to a few seconds (a JACK server started, a card plugged in). A device lost
mid-show ends the audio process; it is started again the same way. Meanwhile the notes
go on over MIDI and OSC, and the synth starts from silence with the next stream, so a
device that comes back does not replay old notes. A render process that dies (a bug)
is started again; the stream plays silence meanwhile.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from ..config import AudioConfig
from ..events import ControlChange, Event, NoteOff, NoteOn
from .children import Child
from .features import ALL_NOTES_OFF, PEDAL
from .ring import (ANCHOR_SEQ, BLOCKS, FRAMES, LAST_NS, LATE, NOTE_P50_US, NOTE_P99_US, REALTIME, RENDER_P50_US,
                   RENDER_P99_US, RENDERS, STREAM, UNDERRUNS, VOICES, XRUNS, Ring)
from .voices import LIVEAI, PLAYER
from .wire import RecordReader, RecordWriter, open_pipe

log = logging.getLogger(__name__)

ALL_OFF = (120, 123)  # all sound off, all notes off: what a panic sends
RETRY_S = (0.5, 5.0)  # starting a process again: first wait, longest wait
WEDGED_S = 2.0  # no callback for this long, and the audio process still there: it is stuck
STEADY_S = 5.0  # a stream that played this long resets the wait (one that dies at once does not)
PLAYER_START_S = 10.0  # the audio process has this long to say whether it plays
RENDER_START_S = 60.0  # the render process this long to load torch and the synth (a busy machine)
WATCH_S = 0.1  # how often the supervisor looks at its processes
DROPS_SAID_S = 1.0  # dropped notes are logged at most this often


def ring_capacity(blocksize: int) -> int:
    """Samples the ring holds: a few blocks, and at least 8192, so that a device asking
    for more frames per callback than audio.blocksize (a JACK period of 4096) still plays."""
    return max(8192, 4 * blocksize)


class AudioEngine:
    def __init__(self, config: AudioConfig, synth: Path) -> None:
        self.config = config
        self.synth = synth
        self.ring = Ring.create(ring_capacity(config.blocksize))
        self._events_r, events_w = open_pipe()
        self.events = RecordWriter(events_w)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)  # the callback never waits on a full pipe
        self.render: Child | None = None
        self.player: Child | None = None
        self.device_name, self.out_latency_s = "", 0.0
        self.problems = {"render": "", "player": ""}  # why each process is not running, as last said
        self.blocks_before = self.underruns_before = self.xruns_before = 0  # from earlier audio processes
        self.late_before = 0  # from earlier render processes
        self.opens = self.render_starts = 0
        self._retry = {"render": RETRY_S[0], "player": RETRY_S[0]}
        self._next_try = {"render": 0.0, "player": 0.0}
        self._playing_since = 0.0
        self._lost_said = float("-inf")
        self._frames_said = False
        self._drops_said, self._drops_seen = float("-inf"), 0
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
                self._send(event.t, event.origin, event.pitch, event.velocity, layer)
            case NoteOff():
                self._send(event.t, event.origin, event.pitch, 0, layer)
            case ControlChange(controller=c) if c in ALL_OFF:
                self._send(event.t, None, ALL_NOTES_OFF, 0, layer)
            case ControlChange(pedal=bool(down)):  # True or False; None (no pedal) falls through
                self._send(event.t, None, PEDAL, 127 if down else 0, layer)

    def _send(self, t: float, arrival: float | None, pitch: int, velocity: int, layer: int) -> None:
        if self.events.send(t, arrival, pitch, velocity, layer) or self.state != "playing":
            return  # sent; or no synth plays, and the notes are heard over MIDI and OSC only
        now = time.monotonic()
        if now - self._drops_said >= DROPS_SAID_S:  # a stalled render process: said once a second, not per note
            log.warning("audio: the render process is not taking notes; %d dropped (all notes off follows)",
                        self.events.dropped - self._drops_seen)
            self._drops_said, self._drops_seen = now, self.events.dropped

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(max(PLAYER_START_S, RENDER_START_S) + 5.0)  # it may be starting a process
        if self._thread.is_alive():
            log.warning("audio: the supervisor did not stop; leaving its memory mapped")
            return
        self._stop_player()
        self._stop_render()
        self.ring.close()
        for fd in (self._events_r, self.events.fd, self._wake_r, self._wake_w):
            os.close(fd)

    # -- the supervisor thread -----------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._watch()
            except Exception:  # a bug must not end liveai's sound for good: say it, start again
                log.exception("audio: the supervisor failed; restarting the audio")
                self._stop_player()
                self._stop_render()
                self.problems["render"] = "failed"
            self._stopping.wait(WATCH_S)

    @property
    def state(self) -> str:
        """playing; or starting, no synth (the render process is not running), no device."""
        if self.render is None:
            return "no synth" if self.problems["render"] else "starting"
        if self.player is None:
            return "no device" if self.problems["player"] else "starting"
        return "playing"

    def _watch(self) -> None:
        """One look: start what is not running (when its wait is over), and see that the
        stream still calls back."""
        now = time.monotonic()
        if self.render is not None and not self.render.running:
            code = self.render.exit_code()
            log.warning("audio: the render process ended (%s); starting it again", code)
            self._stop_render()
            self.problems["render"] = f"the render process ended ({code})"
        if self.render is None:
            if now >= self._next_try["render"] and not self._start_render():
                self._wait_longer("render")
            return  # the stream opens once the synth is ready to play into it
        if self.player is not None and not self.player.running:
            self._player_ended()
        if self.player is None:
            if now >= self._next_try["player"] and not self._start_player():
                self._wait_longer("player")
            return
        if time.monotonic_ns() - int(self.ring.header[LAST_NS]) > WEDGED_S * 1e9:
            log.warning("audio: the audio process stopped calling back; starting it again")
            self._player_ended()  # it should have ended itself: a wedged device
            return
        if now - self._playing_since > STEADY_S:
            self._retry["player"] = RETRY_S[0]  # it has played a while: the next outage starts afresh
        self._check_frames()

    def _wait_longer(self, which: str) -> None:
        self._next_try[which] = time.monotonic() + self._retry[which]
        self._retry[which] = min(self._retry[which] * 2, RETRY_S[1])

    def _check_frames(self) -> None:
        """Once per stream: a device that asks for more frames per callback than half
        the ring (a JACK period of 8192, say) finds it short at every call."""
        frames = int(self.ring.header[FRAMES])
        if 2 * frames > self.ring.capacity and not self._frames_said:
            self._frames_said = True
            log.warning("audio: the device asks for %d frames per callback, more than the ring can keep ready "
                        "(%d): set a smaller period (audio.blocksize, JACK's -p)", frames, self.ring.capacity)

    # -- the render process ----------------------------------------------------------------
    def _start_render(self) -> bool:
        c = self.config
        RecordReader(self._events_r).read()  # notes sent while no synth ran are past
        args = [str(self.ring.fd), str(self._events_r), str(self._wake_r), str(self.synth), str(c.blocksize),
                str(c.headroom_ms), str(c.polyphony), str(c.gain), "1" if c.realtime else "0"]
        render = Child("liveai.audio.render_process", args, (self.ring.fd, self._events_r, self._wake_r))
        line = render.first_line(RENDER_START_S)
        word, _, rest = line.partition(" ")
        if word != "ready":
            problem = rest or line or f"the render process ended ({render.exit_code()}) before it was ready"
            render.stop()
            if problem != self.problems["render"]:  # one warning per outage, not one per try
                log.warning("audio: the synth cannot play: %s; serving without audio, trying again", problem)
            self.problems["render"] = problem
            return False
        self.render, self.problems["render"] = render, ""  # running from here on: the state says so
        self.render_starts += 1
        self._retry["render"] = RETRY_S[0]
        if rest != "1" and c.realtime:
            log.info("audio: the render process runs without realtime scheduling; see audio.headroom_ms")
        return True

    def _stop_render(self) -> None:
        render, self.render = self.render, None
        if render is not None:
            render.stop()
            self.late_before += int(self.ring.header[LATE])
            self.ring.header[LATE] = 0

    # -- the audio process -------------------------------------------------------------
    def _start_player(self) -> bool:
        c = self.config
        self.ring.header[STREAM] += 1  # the render process starts this stream from silence
        args = [str(self.ring.fd), str(self._wake_w), str(c.samplerate), str(c.blocksize),
                str(c.latency_ms / 1000.0), c.device]
        player = Child("liveai.audio.player", args, (self.ring.fd, self._wake_w), quiet=True)
        line = player.first_line(PLAYER_START_S)
        word, _, rest = line.partition(" ")
        if word != "playing":
            problem = rest or line or f"the audio process ended ({player.exit_code()}) before it played"
            self.player = player
            self._stop_player()  # and count what it played, if anything
            if problem != self.problems["player"]:  # one warning per outage, not one per look
                log.warning("audio: %s; serving without audio, looking again", problem)
            self.problems["player"] = problem
            return False
        latency, _, name = rest.partition(" ")
        self.out_latency_s, self.device_name, self.problems["player"] = float(latency), name, ""
        self.player = player  # running from here on: the state says so
        self.opens += 1
        self._playing_since = time.monotonic()
        log.info("audio: playing through %s (%d Hz, %d frames, output latency %.1f ms, notes sound %.1f ms "
                 "after they are due)", name, c.samplerate, c.blocksize, 1000 * self.out_latency_s,
                 1000 * c.blocksize / c.samplerate + c.headroom_ms)
        return True

    def _player_ended(self) -> None:
        # A device that opens and then never plays would say so every second: once a minute is enough.
        level = logging.WARNING if time.monotonic() - self._lost_said > 60.0 else logging.DEBUG
        self._lost_said = time.monotonic()
        log.log(level, "audio: lost %s; the notes go on over MIDI and OSC, looking for it again", self.device_name)
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
        h[ANCHOR_SEQ] = 0  # the anchor's sequence: no anchor (and no notes taken) until the next first callback

    # -- status --------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        h = self.ring.header
        playing = self.state == "playing"
        frames = int(h[FRAMES]) or self.config.blocksize
        lead_s = frames / self.config.samplerate + self.config.headroom_ms / 1000.0
        return {
            "audio": self.state,
            "audio_device": self.device_name,
            "audio_blocks": self.blocks_before + int(h[BLOCKS]),
            "audio_underruns": self.underruns_before + int(h[UNDERRUNS]),
            "audio_xruns": self.xruns_before + int(h[XRUNS]),
            "audio_renders": int(h[RENDERS]),
            "audio_render_ms_p50": int(h[RENDER_P50_US]) / 1000.0,
            "audio_render_ms_p99": int(h[RENDER_P99_US]) / 1000.0,
            "audio_voices": int(h[VOICES]),
            "audio_latency_ms": round(1000.0 * (self.out_latency_s + lead_s), 2) if playing else 0.0,
            "audio_note_ms_p50": int(h[NOTE_P50_US]) / 1000.0,
            "audio_note_ms_p99": int(h[NOTE_P99_US]) / 1000.0,
            "audio_late_notes": self.late_before + int(h[LATE]),
            "audio_dropped_notes": self.events.dropped,
            "audio_reopens": max(self.opens - 1, 0),  # a device found again after a loss
            "audio_render_restarts": max(self.render_starts - 1, 0),
            "audio_realtime": bool(h[REALTIME]),
        }
