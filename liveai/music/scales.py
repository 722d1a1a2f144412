"""Keys, scales and snapping pitches into them: the one list of key and scale names."""

from __future__ import annotations

from functools import lru_cache

SCALE_STEPS: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "pentatonic_major": (0, 2, 4, 7, 9),
    "pentatonic_minor": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
    "chromatic": tuple(range(12)),
}

KEY_PITCH_CLASS = {
    "C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6,
    "Gb": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11,
}

SCALES = tuple(SCALE_STEPS)
KEYS = tuple(KEY_PITCH_CLASS)


class Scale:
    """The pitches of one key and scale across the MIDI range."""

    def __init__(self, key: str, scale: str) -> None:
        tonic = KEY_PITCH_CLASS[key]
        self.pitch_classes = frozenset((tonic + s) % 12 for s in SCALE_STEPS[scale])
        self.pitches = [p for p in range(128) if p % 12 in self.pitch_classes]

    def __contains__(self, pitch: int) -> bool:
        return pitch % 12 in self.pitch_classes

    def snap(self, pitch: int) -> int:
        """Nearest pitch of the scale; a tie goes down."""
        for distance in range(12):
            for candidate in (pitch - distance, pitch + distance):
                if 0 <= candidate <= 127 and candidate in self:
                    return candidate
        raise ValueError(f"no scale pitch near {pitch}")

    def degree_index(self, pitch: int) -> int:
        """Index in `pitches` of the scale pitch at or just below `pitch`."""
        below = [i for i, p in enumerate(self.pitches) if p <= pitch]
        return below[-1] if below else 0

    def step(self, pitch: int, degrees: int) -> int | None:
        """The pitch `degrees` scale steps from `pitch` (snapped down first)."""
        i = self.degree_index(pitch) + degrees
        return self.pitches[i] if 0 <= i < len(self.pitches) else None


@lru_cache(maxsize=64)
def scale_of(key: str, scale: str) -> Scale:
    """The Scale of a key and scale name (shared: behaviours ask for it at every note)."""
    return Scale(key, scale)


def fit_range(pitch: int, low: int, high: int) -> int | None:
    """Move `pitch` by octaves into [low, high]; None when no octave fits."""
    while pitch < low:
        pitch += 12
    while pitch > high:
        pitch -= 12
    return pitch if low <= pitch <= high else None
