"""Note → sound, measured from outside liveai on JACK's own frame clock.

One JACK client (the `JACK-Client` package) plays notes as JACK MIDI into liveai's MIDI
input and, in the same process callback, records liveai's audio port. Both ends are
frames of one clock: a note is sent at the first frame of a cycle (liveai's MIDI client
runs after ours in that cycle and reads it then), and its sound is the first sample of
the recording above 1 % of the note's own peak (-40 dB), after a silent start. The figure,
send frame → that sample, includes liveai's MIDI input (rtmidi's thread, the event
loop, the mode), the synth's lead (a block and `audio.headroom_ms`: the render just in
time) and the synth's rise to that level (half a millisecond or so). It does not include what is outside
liveai:
a MIDI device's capture (up to one JACK period before the frame the note is sent at)
and the sound card's playback latency (one or two periods after PortAudio's port).

Also a client that only counts JACK's xruns, for the long runs.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

NOTE_S = 0.05  # each note's length
SPACING_S = 0.3  # between notes: the release (60 ms) and the network's tail die away first
LEVEL = 0.01  # the onset: the first sample above this share of the note's peak (-40 dB)
SILENT = 0.003  # the start is silent when nothing in the 10 ms before passes this share of the peak
PITCHES = (60, 64, 67, 72, 55, 69)


def _jack() -> Any:
    try:
        import jack
    except (ImportError, OSError) as exc:  # the package, or libjack itself
        raise RuntimeError(
            f"the note -> sound probe needs the JACK-Client package and libjack: {exc}"
        ) from exc
    return jack


class XrunCounter:
    """A JACK client that only counts the server's xruns (a cycle that ran late)."""

    def __init__(self, server: str) -> None:
        jack = _jack()
        self.count = 0
        self.client = jack.Client("liveai-xruns", no_start_server=True, servername=server)
        self.client.set_xrun_callback(self._xrun)
        self.client.activate()

    def _xrun(self, delay: float) -> None:
        self.count += 1

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


class NoteSoundProbe:
    """Plays `notes` notes into `midi_in` and records `audio_out` meanwhile; `run()` gives
    each note's send → sound in ms (NaN for a note whose start was not silent or
    that was never heard)."""

    def __init__(
        self, server: str, midi_in: str, audio_out: str, notes: int = 40, velocity: int = 100
    ) -> None:
        jack = _jack()
        self.client = jack.Client("liveai-probe", no_start_server=True, servername=server)
        self.rate = self.client.samplerate
        self.out = self.client.midi_outports.register("notes")
        self.heard = self.client.inports.register("heard")
        spacing, length = round(SPACING_S * self.rate), round(NOTE_S * self.rate)
        lead_in = round(0.5 * self.rate)
        # (frame from the first cycle, status, pitch, velocity); the ons' send frames are kept
        self.plan = sorted(
            [(lead_in + i * spacing, 0x90, PITCHES[i % len(PITCHES)], velocity) for i in range(notes)]
            + [(lead_in + i * spacing + length, 0x80, PITCHES[i % len(PITCHES)], 0) for i in range(notes)]
        )
        self.recording = np.zeros(lead_in + notes * spacing + self.rate, dtype=np.float32)
        self.sent: list[int] = []  # the note-ons' send frames, from the first cycle
        self.first: int | None = None
        self.next = 0
        self.done = threading.Event()
        self.closed = False
        self.client.set_process_callback(self._process)
        self.client.activate()
        self.client.connect(self.out, midi_in)
        self.client.connect(audio_out, self.heard)

    def _process(self, frames: int) -> None:
        """JACK's cycle: the notes due in it, at its first frame; its audio, kept."""
        now = self.client.last_frame_time
        if self.first is None:
            self.first = now
        at = now - self.first
        self.out.clear_buffer()
        while self.next < len(self.plan) and self.plan[self.next][0] < at + frames:
            _, status, pitch, velocity = self.plan[self.next]
            self.out.write_midi_event(0, (status, pitch, velocity))
            if status == 0x90:
                self.sent.append(at)
            self.next += 1
        n = min(frames, len(self.recording) - at)
        if n > 0:
            self.recording[at : at + n] = self.heard.get_array()[:n]
        else:
            self.done.set()

    def run(self, timeout: float = 120.0) -> list[float]:
        """Play the notes and wait for the recording's end; each note's latency, ms."""
        try:
            if not self.done.wait(timeout):
                raise TimeoutError("the note -> sound probe's JACK client did not finish its recording")
        finally:
            self.close()
        return [latency_ms(self.recording, at, self.rate) for at in self.sent]

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.client.deactivate()
            self.client.close()


def latency_ms(recording: np.ndarray, sent: int, rate: int) -> float:
    """From frame `sent` to the first sample above LEVEL of the note's peak (within
    NOTE_S + 100 ms), in ms; NaN when the 10 ms before the send were not silent, or
    the note was never heard."""
    window = recording[sent : sent + round((NOTE_S + 0.1) * rate)]
    before = recording[max(sent - rate // 100, 0) : sent]
    rest = float(before[-1]) if len(before) else 0.0  # the synth's silence may be a tiny constant
    level = np.abs(window - rest)
    peak = float(level.max()) if len(level) else 0.0
    if peak < 1e-3 or (len(before) and float(np.abs(before - rest).max()) > SILENT * peak):
        return float("nan")
    return 1000.0 * int(np.argmax(level > LEVEL * peak)) / rate


def summary(latencies: list[float]) -> dict[str, Any]:
    """p50 / p99 / max over the notes heard, and how many were not."""
    heard = np.array([x for x in latencies if x == x])
    out: dict[str, Any] = {"notes": len(latencies), "not_measured": len(latencies) - len(heard)}
    if len(heard):
        p50, p99 = np.percentile(heard, (50, 99))
        out.update(
            p50=round(float(p50), 2),
            p99=round(float(p99), 2),
            min=round(float(heard.min()), 2),
            max=round(float(heard.max()), 2),
        )
    return out


def wait_for_port(client_server: str, text: str, midi: bool, timeout: float = 20.0) -> str:
    """The full name of the JACK port whose name ends with `text`, once it exists."""
    jack = _jack()
    client = jack.Client("liveai-ports", no_start_server=True, servername=client_server)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            names = [p.name for p in client.get_ports(is_midi=midi) if p.name.endswith(text)]
            if names:
                return names[0]
            time.sleep(0.1)
        raise TimeoutError(f"no JACK port named *{text}")
    finally:
        client.close()
