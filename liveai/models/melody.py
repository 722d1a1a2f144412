"""The morph model's vocabulary: a two-bar melody on a 16th grid (MusicVAE's melody
encoding). No I/O here.

A melody is STEPS = 32 tokens, one per 16th note of two 4/4 bars:

| token | meaning                                            |
|-------|----------------------------------------------------|
| 0-127 | a note of this pitch starts here                   |
| 128   | HOLD: the note before goes on sounding             |
| 129   | REST: silence                                      |

Polyphonic input becomes one voice, the top one, as a listener hears a tune over its
accompaniment: at each step where notes start, the highest of them starts; it sounds
until its end or until the next melody note starts, whichever comes first. A lower
note that starts while a higher one is held is dropped; so is one that starts in the
same step as a higher one. Rows in quarter notes (`from_quarters`) and timed notes in
seconds on a beat grid (`from_notes`) go through the same rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..music.note import Note

STEPS = 32  # two bars of 4/4 in 16ths
STEPS_PER_QUARTER = 4
STEPS_PER_BAR = 16
N_PITCHES = 128
HOLD = 128
REST = 129
VOCAB_SIZE = 130


def describe_vocab() -> dict[str, object]:
    """Stored in the VAE's checkpoints so a loader can check compatibility."""
    return {"name": "melody-16th-v1", "vocab_size": VOCAB_SIZE, "steps": STEPS, "hold": HOLD, "rest": REST}


def top_voice(
    onsets: Sequence[int], ends: Sequence[int], pitches: Sequence[int], steps: int = STEPS
) -> list[int]:
    """Tokens from notes given as grid steps (onset inclusive, end exclusive), relative
    to the window's first step; notes outside [0, steps) are cut at its edges."""
    starts: dict[int, tuple[int, int]] = {}  # step -> (pitch, end) of the highest note starting there
    for on, end, pitch in zip(onsets, ends, pitches):
        if 0 <= on < steps and (on not in starts or pitch > starts[on][0]):
            starts[on] = (int(pitch), max(int(end), on + 1))
    tokens = [REST] * steps
    sounding_until = 0
    for step in sorted(starts):
        pitch, end = starts[step]
        if step < sounding_until and tokens_pitch(tokens, step) > pitch:
            continue  # a lower note under a held melody note
        tokens[step] = pitch
        stop = min(end, steps)
        for s in range(step + 1, stop):
            tokens[s] = HOLD
        for s in range(stop, sounding_until):
            tokens[s] = REST  # the note before was cut by this one
        sounding_until = stop
    return tokens


def tokens_pitch(tokens: Sequence[int], step: int) -> int:
    """The pitch sounding at `step` (-1 in a rest)."""
    for s in range(step, -1, -1):
        if tokens[s] == REST:
            return -1
        if tokens[s] < N_PITCHES:
            return int(tokens[s])
    return -1


def from_notes(notes: Sequence[Note], origin: float, step_s: float, steps: int = STEPS) -> list[int]:
    """Timed notes (seconds) on a grid starting at `origin` with `step_s` per 16th: each
    onset and end rounds to its nearest step."""
    onsets = [int(round((n.start - origin) / step_s)) for n in notes]
    ends = [int(round((n.end - origin) / step_s)) for n in notes]
    return top_voice(onsets, ends, [n.pitch for n in notes], steps)


def from_quarters(rows: np.ndarray, start_q: float, steps: int = STEPS) -> list[int]:
    """A window of a score's (onset, length, beat strength, pitch) rows in quarter
    notes, from `start_q`."""
    onsets = np.round((rows[:, 0] - start_q) * STEPS_PER_QUARTER).astype(int)
    ends = np.round((rows[:, 0] + rows[:, 1] - start_q) * STEPS_PER_QUARTER).astype(int)
    keep = rows[:, 1] > 0  # grace notes have no written length
    return top_voice(onsets[keep].tolist(), ends[keep].tolist(), rows[keep, 3].astype(int).tolist(), steps)


def to_notes(tokens: Sequence[int], origin: float, step_s: float, velocity: int = 90) -> list[Note]:
    """Timed notes of a melody (a HOLD after a REST, or first, is silence)."""
    notes: list[Note] = []
    pitch, start = -1, 0.0
    for step, token in enumerate(list(tokens) + [REST]):
        if token == HOLD and pitch >= 0:
            continue
        if pitch >= 0:
            notes.append(Note(start, origin + step * step_s, pitch, velocity))
            pitch = -1
        if token < N_PITCHES:
            pitch, start = int(token), origin + step * step_s
    return notes


def note_count(tokens: Sequence[int]) -> int:
    return sum(1 for t in tokens if t < N_PITCHES)
