"""A timed note: what MIDI files, the codec, metrics and behaviours pass around."""

from __future__ import annotations

from typing import NamedTuple


class Note(NamedTuple):
    """A timed note in seconds; `end > start`."""

    start: float
    end: float
    pitch: int
    velocity: int
