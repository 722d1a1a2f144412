"""The note tracker: every note-on sent gets its note-off.

It sits where notes leave liveai and counts, per (channel, pitch), how many voices
hold the note: two harmony voices may land on one pitch, and the note must sound until
the last of them lets go. A note-on is always sent (a retrigger is heard); a note-off
is sent only when the count returns to zero, and never for a note that is not sounding.
"""

from __future__ import annotations

from collections import Counter


class NoteTracker:
    def __init__(self) -> None:
        self._held: Counter[tuple[int, int]] = Counter()

    def note_on(self, channel: int, pitch: int) -> None:
        self._held[(channel, pitch)] += 1

    def note_off(self, channel: int, pitch: int) -> bool:
        """Count one voice off; True when the note-off must be sent now."""
        key = (channel, pitch)
        count = self._held.get(key, 0)
        if count == 0:
            return False
        if count == 1:
            del self._held[key]
            return True
        self._held[key] = count - 1
        return False

    def release_all(self) -> list[tuple[int, int]]:
        """Forget every sounding note; return (channel, pitch) pairs to send offs for."""
        sounding = sorted(self._held)
        self._held.clear()
        return sounding

    @property
    def sounding(self) -> frozenset[tuple[int, int]]:
        return frozenset(self._held)
