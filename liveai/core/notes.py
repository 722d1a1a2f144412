"""The note tracker: what sounds at the synth, who holds it, and when its note-off is due.

It sits where notes leave liveai. The rule it keeps is the synth's: at most one voice
per (channel, pitch). Several owners may hold one note (two harmony voices of
different played keys on one pitch) and it sounds until the last lets go. A note-on
for a note already sounding is a re-strike: its note-off goes out first, so one
note-off always ends it, whatever the synth does with repeated note-ons. An owner is
whatever the sender says holds the note (a played key, a generated part); by default
the note itself, so a repeated note-on from a player and one note-off end it.
"""

from __future__ import annotations

from collections.abc import Hashable

Key = tuple[int, int]  # (channel, pitch)


class NoteTracker:
    def __init__(self) -> None:
        self._owners: dict[Key, set[Hashable]] = {}

    def note_on(self, channel: int, pitch: int, owner: Hashable | None = None) -> bool:
        """Record an owner; True when the note already sounds (send its off first)."""
        key = (channel, pitch)
        owners = self._owners.get(key)
        if owners is None:
            self._owners[key] = {key if owner is None else owner}
            return False
        owners.add(key if owner is None else owner)
        return True

    def note_off(self, channel: int, pitch: int, owner: Hashable | None = None) -> bool:
        """An owner lets go; True when the note-off must be sent now (nobody holds it)."""
        key = (channel, pitch)
        owners = self._owners.get(key)
        if owners is None:
            return False
        owners.discard(key if owner is None else owner)
        if owners:
            return False
        del self._owners[key]
        return True

    def release_all(self) -> list[Key]:
        """Forget every sounding note; return (channel, pitch) pairs to send offs for."""
        sounding = sorted(self._owners)
        self._owners.clear()
        return sounding

    @property
    def sounding(self) -> frozenset[Key]:
        return frozenset(self._owners)
