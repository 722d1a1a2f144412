"""MIDI messages <-> liveai events, and port matching by substring."""

from __future__ import annotations

import mido

from liveai.events import ClockTick, ControlChange, NoteOff, NoteOn, ProgramChange, TransportStart, TransportStop
from liveai.transports.midi import to_event, to_message
from liveai.transports.midi_backend import match


def test_incoming_messages():
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
        names[0]: "keystation", names[1]: "NANOKEY"}
    assert match(["liveai"], names, exclude={"liveai:liveai out"}) == {}
