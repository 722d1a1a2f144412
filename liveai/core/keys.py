"""A session's keys: the one record of what the player holds, which the session keeps
and its recorder, ears and behaviours read (through `Context.keys`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..events import NoteOff
from ..music.note import Note

KeyId = tuple[int, int]  # (channel, pitch)


@dataclass(slots=True)
class Key:
    """A key the player struck, from its note-on until the behaviour hears it end: who
    struck it, when, how hard, and its note-off while the sustain pedal holds it."""

    source: str
    start: float
    velocity: int
    up: NoteOff | None = None  # let go while the pedal is down: the behaviour hears it at the lift

    def note(self, pitch: int, end: float) -> Note:
        return Note(self.start, max(end, self.start + 1e-3), pitch, self.velocity)


class Keys(dict[KeyId, Key]):
    """(channel, pitch) -> Key: the keys down, and those the pedal holds (in the order they
    were let go, after the keys down)."""

    def pitches(self) -> frozenset[int]:
        """Pitches the player sounds (down, or held by the pedal), on any channel."""
        return frozenset(pitch for _, pitch in self)

    def down(self) -> list[tuple[KeyId, Key]]:
        return [(k, key) for k, key in self.items() if key.up is None]

    def sustained(self) -> list[tuple[KeyId, NoteOff]]:
        """The keys the pedal holds, with their note-offs."""
        return [(k, key.up) for k, key in self.items() if key.up is not None]
