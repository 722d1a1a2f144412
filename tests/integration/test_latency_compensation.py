"""Latency compensation per output, end to end, with three outputs of three latencies:
liveai's virtual MIDI port and a named MIDI output (`midi.output_latency_ms`), both heard
by one JACK client on JACK's frame clock, and an OSC target heard by a UDP socket (the
kernel's arrival stamps; the frames are put on that clock to compare).

What liveai answers at once (thru notes) cannot go early: it gives each path's own
difference to the virtual port. What liveai schedules (the clock it leads, the beat
echo, the autopilot's notes) reaches each output earlier by its setting: so each
output's arrival less the virtual port's, scheduled less immediate, is minus the
difference of their settings."""

from __future__ import annotations

import socket
import statistics
import struct
import sys
import threading
import time

import jack  # JACK-Client, a dependency: missing, the test fails (never skips)
import numpy as np
from conftest import wait_until
from pythonosc.osc_message import OscMessage

VIRTUAL_MS, NAMED_MS, OSC_MS = 10.0, 50.0, 30.0
BPM = 120.0
PULSE_S = 60.0 / (BPM * 24)
NAMED = "lat-listener:named"


class JackListener:
    """JACK MIDI inputs `virtual` and `named`; each message stamped with its frame.

    `wall(frame)` puts a frame on the kernel's clock (to compare with UDP arrivals): JACK's
    dummy driver falls behind the wall clock when the machine stalls it, so the frame of
    each cycle's start is paired with the wall time its callback began, and a frame takes
    the least offset of the cycles within a quarter second (the callback begins late,
    never early)."""

    def __init__(self, server: str) -> None:
        self.client = jack.Client("lat-listener", no_start_server=True, servername=server)
        self.ports = {name: self.client.midi_inports.register(name) for name in ("virtual", "named")}
        self.heard: dict[str, list[tuple[int, bytes]]] = {name: [] for name in self.ports}
        self.cycles: list[tuple[int, float]] = []  # (first frame, wall time its callback began)
        self.rate = self.client.samplerate
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, frames: int) -> None:
        began = time.time()
        start = self.client.last_frame_time
        self.cycles.append((start, began))
        for name, port in self.ports.items():
            for offset, data in port.incoming_midi_events():
                self.heard[name].append((start + offset, bytes(data)))

    def on_wall_clock(self, name: str) -> list[tuple[float, bytes]]:
        frames = np.array([f for f, _ in self.cycles], dtype=np.int64)
        offsets = np.array([w for _, w in self.cycles]) - frames / self.rate
        window = round(0.25 * self.rate)
        timed = []
        for frame, data in self.heard[name]:
            lo, hi = np.searchsorted(frames, [frame - window, frame + window])
            timed.append((frame / self.rate + float(offsets[lo:hi].min()), data))
        return timed

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


SO_TIMESTAMPNS = 35  # Linux: the kernel stamps each datagram as it arrives (CLOCK_REALTIME)


class UdpListener:
    """An OSC target read on its own thread, each message stamped by the kernel as it
    arrives (a thread's own stamp would wait for the interpreter, busy with JACK's callback
    when both outputs get a note at once)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.heard: list[tuple[float, str, list]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data, ancillary, _, _ = self.sock.recvmsg(65536, 256)
            except OSError:
                return
            seconds, nanoseconds = struct.unpack("qq", ancillary[0][2][:16])
            at = seconds + nanoseconds / 1e9
            message = OscMessage(data)
            self.heard.append((at, message.address, list(message.params)))


def midi_timeline(heard: list[tuple[float, bytes]]) -> tuple[list[tuple[float, int, int]], dict[int, float]]:
    """(time, pitch, channel) of each note-on, and the clock's pulses after Start by their
    number (from their times: a busy machine may lose one to a JACK cycle run late)."""
    ons = [(t, data[1], data[0] & 0x0F) for t, data in heard if data[0] & 0xF0 == 0x90 and data[2] > 0]
    started = next(i for i, (_, data) in enumerate(heard) if data == b"\xfa")
    pulses = [t for t, data in heard[started:] if data == b"\xf8"]
    return ons, {round((t - pulses[0]) / PULSE_S): t for t in pulses}


def earlier(
    ons: list[tuple[float, int, int]], reference: list[tuple[float, int, int]]
) -> tuple[list[float], list[float]]:
    """How much earlier than on `reference` each note-on came: (thru notes, autopilot's).
    The autopilot stopped (mode off) while a note had left for the output of the larger
    latency only: the other never gets it (its off came first), so the lists may end apart."""
    same = next((i for i, (a, b) in enumerate(zip(ons, reference)) if a[1:] != b[1:]), None)
    same = min(len(ons), len(reference)) if same is None else same
    around = slice(max(same - 3, 0), same + 4)  # where they part, on the wall clock
    assert max(len(ons), len(reference)) - same <= 4, (
        f"note-ons {same} of {len(ons)} and {len(reference)} alike, then "
        f"{ons[around]} against {reference[around]}"
    )
    pairs = [(r[0] - o[0], o[2]) for o, r in zip(ons[:same], reference[:same])]
    return [d for d, channel in pairs if channel == 0], [d for d, channel in pairs if channel == 1]


def test_each_output_gets_scheduled_output_earlier_by_its_latency(jack, start_server):
    udp = UdpListener()
    listener = JackListener(jack.name)
    # the listeners' threads wait less for each other (JACK's callback runs each 2.7 ms)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    try:
        _, peer = start_server(
            "server.mode=thru",
            f"midi.latency_ms={VIRTUAL_MS}",
            f'midi.output_latency_ms={{"{NAMED}" = {NAMED_MS}}}',
            f'midi.outputs=["{NAMED}"]',
            "midi.poll_s=0.1",
            f"osc.latency_ms={OSC_MS}",
            "midi.clock_out=true",
            'clock.source="internal"',
            f"clock.bpm={BPM}",
            "autopilot.horizon_s=0.5",
            "autopilot.channel=2",
            midi=True,
            model="gru",
            env=jack.env(),
            targets=(f"127.0.0.1:{udp.port}",),
        )
        outputs = lambda: str(peer.status().get("midi_outputs", ""))  # noqa: E731
        wait_until(lambda: "liveai out" in outputs() and NAMED in outputs(), 10, "both MIDI outputs")
        jack.connect(next(p for p in jack.ports() if p.endswith("liveai out")), "lat-listener:virtual")
        # Immediate: thru notes (channel 1), sent to every output at once.
        for i in range(12):
            peer.send("/liveai/note", 60 + i, 90, 1)
            time.sleep(0.04)
            peer.send("/liveai/note", 60 + i, 0, 1)
            time.sleep(0.04)
        time.sleep(0.2)
        # Scheduled: the clock liveai leads (MIDI) and its beat echo (OSC) ...
        peer.send("/liveai/play")
        time.sleep(2.5)
        peer.send("/liveai/stop")
        time.sleep(0.3)
        # ... and the autopilot's notes (channel 2).
        peer.send("/liveai/mode", "autopilot")
        time.sleep(2.5)
        peer.send("/liveai/mode", "off")
        time.sleep(0.3)
    finally:
        sys.setswitchinterval(interval)
        listener.close()
        udp.sock.close()
    virtual, virtual_pulses = midi_timeline(listener.on_wall_clock("virtual"))
    named, named_pulses = midi_timeline(listener.on_wall_clock("named"))
    osc = [
        (t, a[0], a[2] - 1) for t, address, a in list(udp.heard) if address == "/liveai/out/note" and a[1] > 0
    ]
    beats = {a[0]: t for t, address, a in list(udp.heard) if address == "/liveai/out/beat"}
    # beat n is the clock's pulse 24 n after Start; at the stop the output of the larger
    # latency has had a few pulses more
    clock = {
        "named": [t - named_pulses[n] for n, t in virtual_pulses.items() if n in named_pulses],
        "osc": [virtual_pulses[24 * n] - t for n, t in beats.items() if 24 * n in virtual_pulses],
    }
    assert len(clock["named"]) >= 100 and len(clock["osc"]) >= 4, clock
    for output, ons, setting in (("named", named, NAMED_MS), ("osc", osc, OSC_MS)):
        immediate, notes = earlier(ons, virtual)
        assert len(immediate) == 12 and len(notes) >= 6, (output, len(immediate), len(notes))
        reference = statistics.median(immediate)
        for what, times in (("clock", clock[output]), ("autopilot notes", notes)):
            ms = 1000 * (statistics.median(times) - reference)
            print(
                f"{output} {what}: {ms:.2f} ms earlier than the virtual port (settings differ by "
                f"{setting - VIRTUAL_MS:g})"
            )
            # JACK quantises MIDI to its period (2.7 ms); the medians of many take most of it away
            assert abs(ms - (setting - VIRTUAL_MS)) < 5.0, (output, what, ms, immediate, times)
