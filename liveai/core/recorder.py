"""What a session played lately, as timed notes: what a morph capture takes its phrase
from. A note lasts from key down to key up (the pedal does not lengthen it: a capture
wants the line as played). Bounded in count and in age, whatever the mode."""

from __future__ import annotations

from collections import deque

from ..music.note import Note

MAX_NOTES = 512
MAX_AGE_S = 60.0


class Recorder:
    def __init__(self, max_notes: int = MAX_NOTES, max_age_s: float = MAX_AGE_S) -> None:
        self.max_age_s = max_age_s
        self._done: deque[Note] = deque(maxlen=max_notes)
        self._open: dict[tuple[int, int], tuple[float, int]] = {}  # (channel, pitch) -> (start, velocity)

    def note_on(self, channel: int, pitch: int, velocity: int, t: float) -> None:
        self.note_off(channel, pitch, t)  # a re-strike ends the note before
        if len(self._open) < 128:
            self._open[(channel, pitch)] = (t, velocity)

    def note_off(self, channel: int, pitch: int, t: float) -> None:
        started = self._open.pop((channel, pitch), None)
        if started is not None:
            self._done.append(Note(started[0], max(t, started[0] + 1e-3), pitch, started[1]))

    def notes(self, now: float) -> list[Note]:
        """Notes begun in the last `max_age_s`, by start; held ones end now."""
        since = now - self.max_age_s
        held = [Note(s, max(now, s + 1e-3), p, v) for (_, p), (s, v) in self._open.items()]
        return sorted((n for n in [*self._done, *held] if n.start >= since), key=lambda n: (n.start, n.pitch))

    def end_held(self, t: float) -> None:
        """Keys the session forgets (a release, a panic) end here: their note-offs, if
        they come, find nothing."""
        for channel, pitch in list(self._open):
            self.note_off(channel, pitch, t)
