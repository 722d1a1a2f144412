"""Assertions about timed notes shared by the codec and MIDI file tests."""

from __future__ import annotations

from liveai.models import codec
from liveai.music.note import Note


def assert_notes_close(a: list[Note], b: list[Note]) -> None:
    """The same notes within the codec's resolution: 10 ms and one velocity bin."""
    assert len(a) == len(b)
    for x, y in zip(sorted(a, key=lambda n: (n.start, n.pitch)), sorted(b, key=lambda n: (n.start, n.pitch))):
        assert x.pitch == y.pitch
        assert abs(x.start - y.start) <= 0.01 + 1e-9
        assert abs(x.end - y.end) <= 0.01 + 1e-9
        assert abs(codec.velocity_to_bin(x.velocity) - codec.velocity_to_bin(y.velocity)) <= 1
