"""liveai's MIDI process: every python-rtmidi call, away from liveai's interpreter.

python-rtmidi holds the GIL through every call into the MIDI system, and with JACK some
calls block: closing an output port waits up to 1 s for a JACK cycle that a dead
server never runs (RtMidi's MidiOutJack::closePort), and opening a client takes a
while. In liveai's process that froze OSC; here it stalls only this process.

    python -m liveai.transports.midi_process CONFIG_JSON

stdin: OUT frames, each message sent to every output; its end means stop (ports are
closed, so what was written is sent). The pipe `frames_fd` (in CONFIG_JSON): IN and SAY
frames (`midi_wire`), counts at least every HEARTBEAT_S. stdout and stderr go to one
pipe, the C libraries' chatter (libjack's when its server goes) and anything printed:
liveai reads and sums it up. The process polls named ports every `poll_s`, and says
`lost` and ends at once (closing nothing: each close would wait for the dead server)
when the MIDI system goes.
SIGINT and SIGTERM are ignored: systemd and a terminal's Ctrl-C signal every process of
liveai at once, and this one must live to send liveai's last note-offs (it ends when
liveai closes its stdin, or dies).
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import threading
import time
from typing import Any

import rtmidi

from ..errors import TransportError
from . import midi_backend
from .midi_wire import HEARTBEAT_S, OUT, OUT_TO, FrameReader, in_frame, latency_group, say_frame

# Status bytes liveai takes (notes, CC, program; clock, start, continue, stop); the rest
# (sysex, aftertouch, pitch bend, active sensing...) is dropped here, counted.
TAKEN = frozenset({0x80, 0x90, 0xB0, 0xC0, 0xF8, 0xFA, 0xFB, 0xFC})
LINGER_S = 0.05  # before the ports close: JACK delivers the last messages in its next cycles


def kind_of(message: list[int]) -> int:
    """A message's kind: its status byte, without the channel for channel messages."""
    status = message[0] if message else 0
    return status if status >= 0xF0 else status & 0xF0


class MidiProcess:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.api: str = config["api"]
        self.rtapi = getattr(rtmidi, f"API_{midi_backend.RTMIDI_APIS[self.api]}")
        self.out_fd: int = config["frames_fd"]
        own = config["client_name"]
        self.virtual_names = (f"{own} in", f"{own} out")
        self.inputs: dict[str, tuple[int, rtmidi.MidiIn]] = {}  # name -> (number, port)
        self.outputs: dict[str, rtmidi.MidiOut] = {}
        self.latency_groups: list[str] = config.get("latency_groups", [])
        self.groups: dict[str, int] = {}  # each output's group (`latency_group`)
        self.lister: midi_backend.PortLister | None = None
        self._numbers = iter(range(1 << 16))
        self._lock = threading.Lock()  # the counts, bumped on the MIDI system's threads
        self.counts = {"midi_ignored": 0, "midi_in_dropped": 0}
        self._said_counts = dict(self.counts)

    # -- talking to liveai ------------------------------------------------------------------
    def say(self, **fields: Any) -> None:
        """A report to liveai; waits while the pipe is full (liveai is busy), as a
        report must not be lost. MIDI input never waits (see `receiver`)."""
        data = say_frame(**fields)
        while True:
            try:
                os.write(self.out_fd, data)
                return
            except BlockingIOError:
                select.select([], [self.out_fd], [], 1.0)

    def log(self, level: str, message: str) -> None:
        self.say(event="log", level=level, message=message)

    def receiver(self, number: int) -> Any:
        def receive(event: tuple[list[int], float], _data: object = None) -> None:
            arrival = time.monotonic()
            message = event[0]
            if kind_of(message) not in TAKEN:
                self._count("midi_ignored")
                return
            try:
                os.write(self.out_fd, in_frame(arrival, number, bytes(message)))
            except BlockingIOError:  # liveai takes nothing for now: never hold the MIDI thread
                self._count("midi_in_dropped")

        return receive

    def _count(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    def say_counts(self, always: bool = False) -> None:
        """The counts when they changed, or `always` (the heartbeat)."""
        with self._lock:
            counts = dict(self.counts)
        if counts == self._said_counts and not always:
            return
        self._said_counts = counts
        self.say(event="counts", **counts)

    # -- ports ---------------------------------------------------------------------------
    def open_virtual(self) -> None:
        name_in, name_out = self.virtual_names
        client = self.config["client_name"]
        try:
            port_in = rtmidi.MidiIn(rtapi=self.rtapi, name=client)
            port_in.open_virtual_port(name_in)
            port_out = rtmidi.MidiOut(rtapi=self.rtapi, name=client)
            port_out.open_virtual_port(name_out)
        except rtmidi.SystemError as exc:  # RtMidi's errors are RuntimeErrors
            raise TransportError(f"cannot open virtual {self.api} MIDI ports: {exc}") from exc
        self._listen(name_in, port_in)
        self._add_output(name_out, port_out)

    def _add_output(self, name: str, port: rtmidi.MidiOut) -> None:
        self.outputs[name] = port
        self.groups[name] = latency_group(name, self.latency_groups)

    def _listen(self, name: str, port: rtmidi.MidiIn) -> int:
        number = next(self._numbers)
        port.ignore_types(sysex=False, timing=False, active_sense=False)  # seen, to be counted
        port.set_callback(self.receiver(number))
        self.inputs[name] = (number, port)
        return number

    def poll(self) -> None:
        """Notice a MIDI system that went away (TransportError); open the configured
        ports that appeared, close those that went."""
        if not (self.config["inputs"] or self.config["outputs"]):
            if self.api == "jack" and not midi_backend.jack_running():
                raise TransportError("the JACK server went away")
            return
        if self.lister is None:
            self.lister = midi_backend.PortLister(self.api)
        in_names, out_names = self.lister.names()
        own = {n for n in in_names + out_names if any(v in n for v in self.virtual_names)}
        self._reconcile(True, midi_backend.match(self.config["inputs"], in_names, own))
        self._reconcile(False, midi_backend.match(self.config["outputs"], out_names, own))

    def _reconcile(self, is_input: bool, wanted: dict[str, str]) -> None:
        ports: dict[str, Any] = self.inputs if is_input else self.outputs
        for name in [n for n in ports if n not in self.virtual_names and n not in wanted]:
            number, port = ports.pop(name) if is_input else (-1, ports.pop(name))
            port.close_port()
            port.delete()
            self.say(event="gone", input=is_input, name=name, number=number)
        for name in wanted:
            if name in ports:
                continue
            try:
                port = rtmidi.MidiIn(rtapi=self.rtapi) if is_input else rtmidi.MidiOut(rtapi=self.rtapi)
                port.open_port(port.get_ports().index(name))  # its own list: the ports may have changed
            except (ValueError, RuntimeError) as exc:  # gone meanwhile; rtmidi.SystemError
                self.log("warning", f"cannot open midi port {name}: {exc}")
                continue
            number = self._listen(name, port) if is_input else -1
            if not is_input:
                self._add_output(name, port)
            self.say(event="opened", input=is_input, name=name, number=number)

    def send(self, message: bytes, group: int | None = None) -> None:
        """To every output, or to those of `group`."""
        for name, port in self.outputs.items():
            if group is not None and self.groups[name] != group:
                continue
            try:
                port.send_message(message)
            except (ValueError, RuntimeError) as exc:
                self.log("warning", f"midi send to {name} failed: {exc}")

    def close(self) -> None:
        """Close every port, the outputs after what they were given went out."""
        if self.outputs:  # closed at once, a shutdown's last note-offs were lost (1 of 3 heard)
            time.sleep(LINGER_S)
        for _, port in self.inputs.values():
            port.close_port()
        for port in self.outputs.values():
            port.close_port()
        if self.lister is not None:
            self.lister.close()

    # -- the process ---------------------------------------------------------------------
    def run(self, in_fd: int = 0) -> None:
        """Until liveai closes stdin (return) or the MIDI system goes (TransportError)."""
        poll_s = float(self.config["poll_s"])
        reader = FrameReader()
        next_poll = next_beat = time.monotonic()
        while True:
            wait = min(next_poll, next_beat) - time.monotonic()
            if wait > 0 and select.select([in_fd], [], [], wait)[0]:
                data = os.read(in_fd, 65536)
                if not data:
                    return
                for kind, payload in reader.feed(data):
                    if kind == OUT:
                        self.send(payload)
                    elif kind == OUT_TO:
                        self.send(payload[1:], payload[0])
                continue
            now = time.monotonic()
            if now >= next_poll:
                self.poll()
                now = time.monotonic()
                next_poll = now + poll_s
            self.say_counts(always=now >= next_beat)
            if now >= next_beat:
                next_beat = now + HEARTBEAT_S


def main() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):  # liveai says when: its stdin ends
        signal.signal(sig, signal.SIG_IGN)
    config = json.loads(sys.argv[1])
    midi = MidiProcess(config)
    os.set_blocking(midi.out_fd, False)
    try:
        midi_backend.check_available(midi.api)
        if config["virtual"]:
            midi.open_virtual()
        midi.say(
            event="ready",
            inputs=[[name, number] for name, (number, _) in midi.inputs.items()],
            outputs=list(midi.outputs),
        )
        midi.run()
    except TransportError as exc:
        # Closing a port of a dead JACK server waits a second each: leave them to the exit.
        midi.say(event="lost", reason=str(exc))
        os._exit(0)
    midi.close()


if __name__ == "__main__":
    main()
