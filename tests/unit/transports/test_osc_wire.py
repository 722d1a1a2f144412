"""The structural check that keeps python-osc from hostile datagrams."""

from __future__ import annotations

import struct

import pytest
from pythonosc.osc_packet import ParseError

from liveai.bench.harness import osc_message
from liveai.events import Beat, NoteOff, NoteOn, StateChanged
from liveai.transports.osc import encode, event_message
from liveai.transports.osc_wire import TooMuch, WireLimits, check_datagram


def bundle(*elements: bytes, size: int | None = None) -> bytes:
    body = b"".join(struct.pack(">i", len(e) if size is None else size) + e for e in elements)
    return b"#bundle\x00" + struct.pack(">Q", 1) + body


def test_well_formed_datagrams_pass():
    check_datagram(osc_message("/liveai/note", 60, 100.0, "x"))
    check_datagram(bundle(osc_message("/a", 1), bundle(osc_message("/b"))))
    check_datagram(bundle())  # an empty bundle is legal OSC


@pytest.mark.parametrize(
    "data",
    [
        bundle(osc_message("/a"), size=-4),  # python-osc would loop forever on this one
        bundle(osc_message("/a"), size=1 << 30),
        bundle(osc_message("/a"), size=3),
        bundle(b"garbage!"),
        b"#bundle\x00\x00",
        b"hello",
        b"/no/terminator",
        b"/a\x00\x00,i\x07",
        b"/a\x00\x00,iq\x00\x00\x00\x00\x01",  # unknown type tag 'q'
        b"/a\x00\x00,I\x00\x00",  # 'I' (impulse) and 'c' (char): python-osc would log a warning per tag
        b"/a\x00\x00,c\x00\x00\x00\x00\x00A",
    ],
)
def test_malformed_datagrams_are_refused(data):
    with pytest.raises(ParseError):
        check_datagram(data)


def test_the_work_of_one_datagram_is_bounded():
    limits = WireLimits(max_messages=4, max_arguments=3)
    assert check_datagram(bundle(*[osc_message("/a")] * 4), limits) == 4
    with pytest.raises(TooMuch, match="more than 4 messages"):
        check_datagram(bundle(bundle(*[osc_message("/a")] * 3), osc_message("/b"), osc_message("/c")), limits)
    with pytest.raises(TooMuch, match="4 arguments"):
        check_datagram(osc_message("/a", 1, 2, 3, 4), limits)


def test_nesting_is_bounded():
    data = osc_message("/deep")
    for _ in range(10):
        data = bundle(data)
    with pytest.raises(ParseError, match="nested"):
        check_datagram(data)


def test_outgoing_events_use_the_v1_addresses():
    assert event_message(NoteOn(64, 100, 0)) == ("/liveai/out/note", (64, 100, 1))
    assert event_message(NoteOff(64, 15)) == ("/liveai/out/note", (64, 0, 16))
    assert event_message(Beat(3)) == ("/liveai/out/beat", (3,))
    assert event_message(StateChanged("mode", "thru")) == ("/liveai/out/mode", ("thru",))
    assert b",i" in encode("/x", True)  # booleans go out as ints for Pd and Max


def test_address_patterns_per_datagram_are_bounded():
    """Each pattern is matched against every command: a datagram carries at most 8."""
    assert check_datagram(bundle(*[osc_message("/liveai/p?ng", i) for i in range(8)])) == 8
    with pytest.raises(TooMuch, match="address patterns"):
        check_datagram(bundle(*[osc_message("/liveai/**", i) for i in range(9)]))
    assert check_datagram(bundle(*[osc_message("/liveai/ping", i) for i in range(100)])) == 100
