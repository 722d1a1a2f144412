"""What a session played lately, as timed notes: what a morph capture takes its phrase
from. A note lasts from key down to key up (the pedal does not lengthen it: a capture
wants the line as played). Bounded in count and in age, whatever the mode."""

from __future__ import annotations

from collections import deque

from ..music.note import Note
from .keys import Keys

MAX_NOTES = 512
MAX_AGE_S = 60.0


class Recorder:
    """The notes that ended (the session says when); the keys still down are read from
    the session's `keys`."""

    def __init__(self, keys: Keys, max_notes: int = MAX_NOTES, max_age_s: float = MAX_AGE_S) -> None:
        self.keys = keys
        self.max_age_s = max_age_s
        self._done: deque[Note] = deque(maxlen=max_notes)

    def ended(self, note: Note) -> None:
        self._done.append(note)

    def notes(self, now: float) -> list[Note]:
        """Notes begun in the last `max_age_s`, by start; held ones end now."""
        since = now - self.max_age_s
        held = [key.note(pitch, now) for (_, pitch), key in self.keys.down()]
        return sorted((n for n in [*self._done, *held] if n.start >= since), key=lambda n: (n.start, n.pitch))
