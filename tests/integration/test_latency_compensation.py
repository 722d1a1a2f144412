"""Latency compensation per output, end to end: the MIDI output (heard by a JACK client,
on JACK's frame clock) and an OSC target (heard by a UDP socket) with different
`latency_ms`. What liveai schedules (here the clock it leads and the beat echo) reaches
each output earlier by its setting; what it answers at once (thru) cannot, and gives
the two paths' own difference. So (MIDI - OSC) for the scheduled beats, less (MIDI -
OSC) for the immediate notes, is osc.latency_ms - midi.latency_ms."""

from __future__ import annotations

import socket
import statistics
import threading
import time

import pytest
from conftest import wait_until
from pythonosc.osc_message import OscMessage

MIDI_MS, OSC_MS = 20.0, 60.0


class JackListener:
    """A JACK MIDI input; each message stamped with its frame (in seconds)."""

    def __init__(self, server: str) -> None:
        jack = pytest.importorskip("jack")
        self.client = jack.Client("lat-listener", no_start_server=True, servername=server)
        self.port = self.client.midi_inports.register("in")
        self.heard: list[tuple[float, bytes]] = []
        self.rate = self.client.samplerate
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, frames: int) -> None:
        start = self.client.last_frame_time
        for offset, data in self.port.incoming_midi_events():
            self.heard.append(((start + offset) / self.rate, bytes(data)))

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


class UdpListener:
    """An OSC target read on its own thread, each message stamped as it arrives."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.heard: list[tuple[float, str, list]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            at = time.monotonic()
            message = OscMessage(data)
            self.heard.append((at, message.address, list(message.params)))


def test_each_output_gets_scheduled_output_earlier_by_its_latency(jack, start_server):
    udp = UdpListener()
    _, peer = start_server(
        "server.mode=thru",
        f"midi.latency_ms={MIDI_MS}",
        f"osc.latency_ms={OSC_MS}",
        "midi.clock_out=true",
        'clock.source="internal"',
        "clock.bpm=240",
        midi=True,
        env=jack.env(),
        targets=(f"127.0.0.1:{udp.port}",),
    )
    listener = JackListener(jack.name)
    try:
        wait_until(lambda: "liveai out" in str(peer.status().get("midi_outputs", "")), 10, "liveai out")
        jack.connect(next(p for p in jack.ports() if p.endswith("liveai out")), "lat-listener:in")
        # Immediate: thru notes, sent to both outputs at once (never early).
        for i in range(12):
            peer.send("/liveai/note", 60 + i, 90, 1)
            time.sleep(0.04)
            peer.send("/liveai/note", 60 + i, 0, 1)
            time.sleep(0.04)
        time.sleep(0.2)
        # Scheduled: the clock liveai leads (MIDI) and its beat echo (OSC).
        peer.send("/liveai/play")
        time.sleep(2.5)
        peer.send("/liveai/stop")
        time.sleep(0.3)
    finally:
        listener.close()
        udp.sock.close()
    midi, osc = list(listener.heard), list(udp.heard)
    midi_ons = {data[1]: t for t, data in midi if data[0] == 0x90 and data[2] > 0}
    osc_ons = {args[0]: t for t, address, args in osc if address == "/liveai/out/note" and args[1] > 0}
    immediate = [midi_ons[p] - osc_ons[p] for p in range(60, 72) if p in midi_ons and p in osc_ons]
    assert len(immediate) >= 10, (midi_ons, osc_ons)
    # beat n is MIDI clock pulse 24 n after the start
    started = next(i for i, (_, data) in enumerate(midi) if data == b"\xfa")
    pulses = [t for t, data in midi[started:] if data == b"\xf8"]
    beats = {args[0]: t for t, address, args in osc if address == "/liveai/out/beat"}
    scheduled = [pulses[24 * n] - beats[n] for n in beats if 24 * n < len(pulses)]
    assert len(scheduled) >= 6, (len(pulses), beats)
    shift_ms = 1000 * (statistics.median(scheduled) - statistics.median(immediate))
    print(f"scheduled MIDI - OSC less immediate: {shift_ms:.2f} ms (setting {OSC_MS - MIDI_MS:g})")
    # JACK quantises MIDI to its period (2.7 ms); the medians of many take most of it away
    assert abs(shift_ms - (OSC_MS - MIDI_MS)) < 5.0, (shift_ms, immediate, scheduled)
