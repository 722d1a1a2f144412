"""Keys, scales and snapping pitches into them: the one list of key and scale names."""

from __future__ import annotations

import re
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
    "C": 0,
    "C#": 1,
    "Db": 1,
    "D": 2,
    "D#": 3,
    "Eb": 3,
    "E": 4,
    "F": 5,
    "F#": 6,
    "Gb": 6,
    "G": 7,
    "G#": 8,
    "Ab": 8,
    "A": 9,
    "A#": 10,
    "Bb": 10,
    "B": 11,
}

SCALES = tuple(SCALE_STEPS)
# The scales of a minor key (a minor third and no major one), as the harmony model is told.
MINOR_SCALES = frozenset(name for name, steps in SCALE_STEPS.items() if 3 in steps and 4 not in steps)
KEYS = tuple(KEY_PITCH_CLASS)
# Other names people give scales ("Am", "A:min" in chord-symbol and Harte notation).
SCALE_ALIASES = {
    "m": "minor",
    "min": "minor",
    "aeolian": "minor",
    "maj": "major",
    "ionian": "major",
    "minor_pentatonic": "pentatonic_minor",
    "major_pentatonic": "pentatonic_major",
    "m_pentatonic": "pentatonic_minor",
}
KEY_FORMS = '"A minor", "Am", "A:min", "F#m", "Bb major", "C", or two strings "A" "minor"'
_TONIC = re.compile(r"([a-g])([#b\u266f\u266d]?)(.*)", re.IGNORECASE | re.DOTALL)


def parse_key(name: str, scale: str | None = None) -> tuple[str, str | None]:
    """A key as people write it, as one string ("A minor", "Am", "A:min", "f# dorian")
    or two ("A", "minor"): the tonic as in KEYS and the scale as in SCALES (None when
    none is given: the scale stays as it was). ValueError names the forms it accepts."""
    found = _TONIC.fullmatch(name.strip())
    if found is None:
        raise ValueError(f"no key {name[:20]!r}: {_accepted()}")
    letter, accidental, rest = found.groups()
    tonic = letter.upper() + {"#": "#", "\u266f": "#", "b": "b", "B": "b", "\u266d": "b"}.get(accidental, "")
    if tonic not in KEY_PITCH_CLASS:  # E#, Cb, B#, Fb
        raise ValueError(f"no key {tonic}: {_accepted()}")
    named = [_scale_name(part) for part in (rest.strip().lstrip(":").strip(), scale) if part and part.strip()]
    if len(named) == 2 and named[0] != named[1]:
        raise ValueError(f"{name[:20]!r} and {str(scale)[:20]!r} are two scales: {_accepted()}")
    return tonic, (named[0] if named else None)


def _scale_name(text: str) -> str:
    words = "_".join(text.strip().lower().replace("-", " ").replace("_", " ").split())
    found = SCALE_ALIASES.get(words, words)
    if found not in SCALE_STEPS:
        raise ValueError(f"no scale {text[:20]!r}: {_accepted()}")
    return found


def _accepted() -> str:
    return f"give {KEY_FORMS}; scales: {' '.join(SCALES)}"


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
