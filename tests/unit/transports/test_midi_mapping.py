"""MIDI messages <-> liveai events, and port matching by substring."""

from __future__ import annotations

import mido
import pytest

from liveai.events import (
    ClockTick,
    ControlChange,
    Event,
    NoteOff,
    NoteOn,
    ProgramChange,
    TransportStart,
    TransportStop,
)
from liveai.transports import midi
from liveai.transports.midi import to_message
from liveai.transports.midi_backend import match


def test_incoming_messages():
    def to_event(msg: mido.Message, t: float, source: str, clock_in: bool) -> Event | None:
        return midi.to_event(bytes(msg.bytes()), t, source, clock_in)

    m = mido.Message
    assert to_event(m("note_on", note=60, velocity=90, channel=2), 0.0, "k", True) == NoteOn(60, 90, 2)
    assert to_event(m("note_on", note=60, velocity=0), 0.0, "k", True) == NoteOff(60, 0)
    assert to_event(m("note_off", note=61, velocity=40), 0.0, "k", True) == NoteOff(61, 0)
    assert to_event(m("control_change", control=1, value=64), 0.0, "k", True) == ControlChange(1, 64)
    assert to_event(m("program_change", program=2), 0.0, "k", True) == ProgramChange(2)
    assert to_event(m("clock"), 0.0, "k", True) == ClockTick()
    assert to_event(m("start"), 0.0, "k", True) == TransportStart()
    assert to_event(m("continue"), 0.0, "k", True) == TransportStart(resume=True)
    assert to_event(m("stop"), 0.0, "k", True) == TransportStop()
    assert to_event(m("clock"), 0.0, "k", clock_in=False) is None
    assert to_event(m("pitchwheel", pitch=100), 0.0, "k", True) is None
    event = to_event(m("note_on", note=60, velocity=90), 2.5, "midi:keys", True)
    assert event is not None and (event.t, event.source) == (2.5, "midi:keys")


def test_incoming_bytes_decode_as_mido_reads_them():
    """Every channel message liveai takes, on every channel, read as mido reads it."""
    for status in range(0x80, 0xF0):
        for data1, data2 in ((0, 0), (60, 1), (127, 127)):
            two_bytes = status & 0xF0 in (0xC0, 0xD0)  # program change, channel pressure
            msg = mido.Message.from_bytes([status, data1] if two_bytes else [status, data1, data2])
            event = midi.to_event(bytes(msg.bytes()), 0.0, "k", True)
            match msg.type:
                case "note_on" if msg.velocity > 0:
                    assert event == NoteOn(msg.note, msg.velocity, msg.channel)
                case "note_on" | "note_off":
                    assert event == NoteOff(msg.note, msg.channel)
                case "control_change":
                    assert event == ControlChange(msg.control, msg.value, msg.channel)
                case "program_change":
                    assert event == ProgramChange(msg.program, msg.channel)
                case _:
                    assert event is None, msg


def test_incoming_bytes_that_are_not_a_whole_message_are_refused():
    for data in (b"\x90", b"\x90\x3c", b"\x90\x3c\x64\x00", b"\x90\x80\x64", b"\xc0", b"\xf8\x00"):
        with pytest.raises(ValueError):
            midi.to_event(data, 1.0, "k", True)


def test_outgoing_messages():
    assert to_message(NoteOn(64, 100, 3), False) == mido.Message("note_on", note=64, velocity=100, channel=3)
    assert to_message(NoteOff(64, 3), False) == mido.Message("note_off", note=64, velocity=0, channel=3)
    assert to_message(ClockTick(), clock_out=False) is None
    assert to_message(ClockTick(), clock_out=True) == mido.Message("clock")
    assert to_message(TransportStart(), True) == mido.Message("start")
    assert to_message(TransportStop(), True) == mido.Message("stop")


def test_ports_match_by_case_insensitive_substring_excluding_our_own():
    names = ["Keystation 49:Keystation MIDI 1", "nanoKEY2:nanoKEY2 _ KEYBOARD", "liveai:liveai out"]
    assert match(["keystation", "NANOKEY"], names, exclude=set()) == {
        names[0]: "keystation",
        names[1]: "NANOKEY",
    }
    assert match(["liveai"], names, exclude={"liveai:liveai out"}) == {}
