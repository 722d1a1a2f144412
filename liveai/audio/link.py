"""The loop's link to the synth: liveai's own sound, played live by two processes of its own.

    the loop:            SynthLink.sink(event)   liveai's notes, pedal and all-notes-off, as records on a pipe
                         SynthLink.tap(event)    the player's (audio.play = "all"), a layer per source
    the render process:  records -> the stream's samples -> the synth -> the shared Ring, each block just
                         in time for the callback (liveai.audio.render_process, liveai.audio.timeline)
    the output process:  its PortAudio callback copies one block from the ring (liveai.audio.output)
    a thread in liveai:  starts, watches and restarts both (liveai.audio.supervisor)

Neither process shares liveai's GIL: the callback never waits for liveai's Python, and
the render never waits behind the event loop or the model worker. A note sounds
`audio.blocksize` frames and `audio.headroom_ms` after it is due, and notes keep their
spacing to the sample.

Faults. No device at start: one warning, and liveai looks again. A device lost
mid-show ends the output process; it is started again the same way. Meanwhile the notes
go on over MIDI and OSC, and the synth starts from silence with the next stream, so a
device that comes back does not replay old notes. A render process that dies or hangs
is started again; the stream plays silence meanwhile.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from ..config import AudioConfig
from ..core.stats import LogThrottle
from ..events import ControlChange, Event, NoteOff, NoteOn, player_of
from .ring import Ring
from .supervisor import Spawn, SynthSupervisor, spawn_child
from .voices import LIVEAI, PLAYER
from .wire import ALL_NOTES_OFF, PEDAL, RecordWriter, open_pipe

log = logging.getLogger(__name__)

ALL_OFF = (120, 123)  # all sound off, all notes off: what a panic sends
PLAYER_LAYERS = 254  # each source of the player's (a keyboard, an OSC client) a layer: 1..254 (a byte)


def ring_capacity(config: AudioConfig) -> int:
    """Samples the ring holds: room for a block being played, the headroom and a block
    being written, twice over; at least 8192, so that a device asking for more frames
    per callback than audio.blocksize (a JACK period of 4096) still plays."""
    headroom = math.ceil(config.headroom_ms * config.samplerate / 1000.0)
    return max(8192, 4 * config.blocksize + 2 * headroom)


class SynthLink:
    def __init__(self, config: AudioConfig, synth: Path, spawn: Spawn = spawn_child) -> None:
        self.config = config
        self.ring = Ring.create(ring_capacity(config))
        self._events_r, events_w = open_pipe()
        self.events = RecordWriter(events_w)
        self._wake = os.pipe()
        for fd in self._wake:
            os.set_blocking(fd, False)  # the callback never waits on a full pipe
        self.supervisor = SynthSupervisor(config, synth, self.ring, self._events_r, self._wake, spawn)
        # a stalled render process: said once a second, not per note
        self._dropped = LogThrottle(log, "dropped", level=logging.WARNING)
        # the players (player_of) and their layers, the longest silent first
        self._layers: OrderedDict[str, int] = OrderedDict()

    @property
    def state(self) -> str:
        return self.supervisor.state

    # -- the loop's side ----------------------------------------------------------------
    def sink(self, event: Event) -> None:
        """An event liveai sends out; never blocks. With audio.play = "all", an echo of
        the player's own note (thru: it carries the player's source) is left to the tap,
        which plays it already."""
        if event.source and self.config.play == "all":
            return
        self._take(event, LIVEAI)

    def tap(self, event: Event) -> None:
        """An event the player sent in (audio.play = "all"): each of the player's sources
        (a MIDI input, an OSC host) is a layer of its own, so its note-off, pedal or loss
        never ends liveai's note, nor another keyboard's or client's."""
        player = player_of(event.source)
        match event:
            case NoteOn() | NoteOff() | ControlChange(pedal=bool()):
                self._take(event, self._layer_of(player, event.t))
            case ControlChange(controller=c) if c in ALL_OFF:  # a source lost, or its panic
                layer = self._layers.get(player)  # not heard from: nothing of it sounds
                if layer is not None:
                    self._take(event, layer)

    def _layer_of(self, player: str, t: float) -> int:
        layer = self._layers.get(player)
        if layer is not None:
            self._layers.move_to_end(player)
            return layer
        if len(self._layers) < PLAYER_LAYERS:
            layer = PLAYER + len(self._layers)
        else:  # the player heard from longest ago gives its layer up, ending what it held (its pedal too)
            _, layer = self._layers.popitem(last=False)
            self._send(t, ALL_NOTES_OFF, 0, layer)
        self._layers[player] = layer
        return layer

    def _take(self, event: Event, layer: int) -> None:
        match event:
            case NoteOn():
                self._send(event.t, event.pitch, event.velocity, layer)
            case NoteOff():
                self._send(event.t, event.pitch, 0, layer)
            case ControlChange(controller=c) if c in ALL_OFF:
                self._send(event.t, ALL_NOTES_OFF, 0, layer)
            case ControlChange(pedal=bool(down)):  # True or False; None (no pedal) falls through
                self._send(event.t, PEDAL, 127 if down else 0, layer)

    def _send(self, t: float, pitch: int, velocity: int, layer: int) -> None:
        if self.events.send(t, pitch, velocity, layer) or self.state != "playing":
            return  # sent; or no synth plays, and the notes are heard over MIDI and OSC only
        self._dropped(
            time.monotonic(), "the render process is not taking notes: a note dropped, all notes off follows"
        )

    # -- its life ----------------------------------------------------------------------
    def start(self) -> None:
        self.supervisor.start()

    def close(self) -> None:
        """Stop both processes and free what they shared (blocks for up to a few
        seconds: call it off the event loop)."""
        if not self.supervisor.stop():
            log.warning("the supervisor did not stop; leaving its memory mapped")
            return
        self.ring.close()
        for fd in (self._events_r, self.events.fd, *self._wake):
            os.close(fd)

    def render_seen(self, now: float) -> float | None:
        """When the render process last turned (time.monotonic()), or None while none
        runs: the supervisor is starting one, under its own time limits, and a synth that
        cannot start leaves liveai serving without sound, which a restart would not mend."""
        ns = self.ring.header.render_ns  # first: the supervisor zeroes the pid first
        return ns / 1e9 if ns and self.ring.header.render_pid else None

    # -- status --------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        h, s = self.ring.header, self.supervisor
        playing = self.state == "playing"
        frames = h.frames or self.config.blocksize
        lead_s = frames / self.config.samplerate + self.config.headroom_ms / 1000.0
        return {
            "audio": self.state,
            "audio_device": s.device_name,
            "audio_blocks": s.total("blocks"),
            "audio_underruns": s.total("underruns"),
            "audio_xruns": s.total("xruns"),
            "audio_renders": s.total("renders"),
            "audio_render_ms_p50": h.render_p50_us / 1000.0,
            "audio_render_ms_p99": h.render_p99_us / 1000.0,
            "audio_voices": h.voices,
            "audio_latency_ms": round(1000.0 * (s.out_latency_s + lead_s), 2) if playing else 0.0,
            "audio_late_notes": s.total("late"),
            "audio_dropped_notes": self.events.dropped,
            "audio_reopens": max(s.output.starts - 1, 0),  # a device found again after a loss
            "audio_render_restarts": max(s.render.starts - 1, 0),
            "audio_realtime": bool(h.realtime),
        }
