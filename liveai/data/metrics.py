"""Small music metrics for checking that a continuation fits its prime."""

from __future__ import annotations

from collections.abc import Sequence

from ..music.note import Note
from ..music.tonality import estimate_key, pearson, pitch_class_histogram


def pitch_class_correlation(a: Sequence[Note], b: Sequence[Note]) -> float:
    """Pearson r between the duration-weighted pitch-class profiles of two note lists
    (1.0 = same tonal distribution, ~0 = unrelated)."""
    return pearson(pitch_class_histogram(a), pitch_class_histogram(b))


def notes_per_second(notes: Sequence[Note]) -> float:
    """Onsets per second over the span from the first onset to the last note end."""
    if not notes:
        return 0.0
    span = max(n.end for n in notes) - min(n.start for n in notes)
    return len(notes) / span if span > 0 else 0.0


def compare(prime: Sequence[Note], continuation: Sequence[Note]) -> dict[str, object]:
    """Figures that tell whether a continuation sounds like its prime."""
    kp, kc = estimate_key(prime), estimate_key(continuation)
    return {
        "prime_key": kp.name if kp else None,
        "continuation_key": kc.name if kc else None,
        "pitch_class_correlation": round(pitch_class_correlation(prime, continuation), 4),
        "prime_notes_per_second": round(notes_per_second(prime), 3),
        "continuation_notes_per_second": round(notes_per_second(continuation), 3),
        "prime_notes": len(prime),
        "continuation_notes": len(continuation),
    }
