"""Melodies with their real harmony, for the harmony model: at every melody onset, the
pitches sounding under it.

- Bach's chorales (music21's corpus): the soprano is the melody; alto, tenor and bass
  sounding at each soprano onset are its voicing (as DeepBach and Coconet read them).
- POP909: the MELODY track is the melody; the PIANO track's notes sounding at each
  melody onset (or struck within a 16th after it) are its voicing.

Each piece keeps the relative id the corpus splits it by (`shards.split_of`), its key
(Krumhansl-Schmuckler on all its notes) and, per melody onset, the position in quarter
notes (for the beat). `save`/`load` keep them as plain arrays (npz, no pickle).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..music.note import Note
from ..music.tonality import estimate_key

MAX_REAL = 6  # real pitches kept per onset (a pop piano chord has rarely more distinct ones)
VOICES = ("soprano", "alto", "tenor", "bass")
LATE_Q = 0.25  # an accompaniment note struck this soon after the melody's onset counts as under it


@dataclass
class HarmonyPiece:
    rel_id: str
    tonic: int  # pitch class of the key
    minor: bool
    melody: np.ndarray  # (N,) int: melody pitches
    onset_q: np.ndarray  # (N,) float: onsets in quarter notes from the start
    real: np.ndarray  # (N, MAX_REAL) int: pitches sounding under each melody note, -1 padded


def steps(
    rel_id: str, melody: list[tuple[float, float, int]], under: list[tuple[float, float, int]]
) -> HarmonyPiece | None:
    """One piece from its melody and accompaniment notes (start_q, end_q, pitch)."""
    melody = sorted(melody)
    if len(melody) < 4 or not under:
        return None
    starts = np.array([u[0] for u in under])
    ends = np.array([u[1] for u in under])
    pitches = np.array([u[2] for u in under])
    real = np.full((len(melody), MAX_REAL), -1, dtype=np.int64)
    for k, (t, _, _) in enumerate(melody):
        sounding = ((starts <= t + 1e-6) & (ends > t + 1e-6)) | ((starts > t) & (starts < t + LATE_Q))
        found = sorted(set(int(p) for p in pitches[sounding]))[:MAX_REAL]
        real[k, : len(found)] = found
    keep = real[:, 0] >= 0
    if keep.sum() < 4:
        return None
    notes = [Note(s, max(e, s + 1e-3), p, 64) for s, e, p in melody + under]
    key = estimate_key(notes)
    if key is None:
        return None
    return HarmonyPiece(
        rel_id,
        key.tonic,
        key.mode == "minor",
        np.array([m[2] for m in melody])[keep],
        np.array([m[0] for m in melody], dtype=np.float64)[keep],
        real[keep],
    )


def chorale(path: Path, rel_id: str) -> HarmonyPiece | None:
    """A four-part chorale (None if its four voices cannot be told)."""
    from music21 import converter  # noqa: PLC0415 (slow to import; only data preparation needs it)

    score = converter.parse(str(path), forceSource=True, storePickle=False)
    parts = list(score.parts)
    named = {}
    for part in parts:  # some chorales add instruments: the voices go by their names
        name = (part.partName or "").lower()
        for voice in VOICES:
            if voice in name and voice not in named:
                named[voice] = part
    if len(named) == 4:
        parts = [named[v] for v in VOICES]
    elif len(parts) != 4:
        return None
    voices = []
    for part in parts:
        notes = []
        for n in part.stripTies().flatten().notes:
            start, length = float(n.offset), float(n.quarterLength)
            if length <= 0:
                continue  # grace notes
            # a divided part: its top note
            notes += [(start, start + length, int(p.midi)) for p in n.pitches[-1:]]
        voices.append(notes)
    return steps(rel_id, voices[0], [n for v in voices[1:] for n in v])


def pop909(path: Path, rel_id: str) -> HarmonyPiece | None:
    """A POP909 song: its MELODY over its PIANO (None without both tracks)."""
    import mido  # noqa: PLC0415

    midi = mido.MidiFile(str(path))
    tracks: dict[str, list[tuple[float, float, int]]] = {}
    for track in midi.tracks:
        tick, open_ = 0, {}  # open_: pitch -> the tick it began
        notes: list[tuple[float, float, int]] = []
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                open_[msg.note] = tick
            elif msg.type in ("note_off", "note_on") and msg.note in open_:
                start = open_.pop(msg.note)
                notes.append((start / midi.ticks_per_beat, tick / midi.ticks_per_beat, msg.note))
        tracks[track.name.strip().upper()] = notes
    if not tracks.get("MELODY") or not tracks.get("PIANO"):
        return None
    return steps(rel_id, tracks["MELODY"], tracks["PIANO"])


def save(path: Path, pieces: list[HarmonyPiece]) -> None:
    lengths = np.array([len(p.melody) for p in pieces], dtype=np.int64)
    np.savez_compressed(
        path,
        rel_ids=np.array([p.rel_id for p in pieces]),
        tonic=np.array([p.tonic for p in pieces]),
        minor=np.array([p.minor for p in pieces]),
        lengths=lengths,
        melody=np.concatenate([p.melody for p in pieces]),
        onset_q=np.concatenate([p.onset_q for p in pieces]),
        real=np.concatenate([p.real for p in pieces]),
    )


def load(path: Path) -> list[HarmonyPiece]:
    with np.load(path, allow_pickle=False) as z:
        a = {k: z[k] for k in z.files}  # each z[k] reads the file again: once
    bounds = np.concatenate([[0], np.cumsum(a["lengths"])])
    return [
        HarmonyPiece(str(r), int(t), bool(m), a["melody"][i:j], a["onset_q"][i:j], a["real"][i:j])
        for r, t, m, i, j in zip(a["rel_ids"], a["tonic"], a["minor"], bounds[:-1], bounds[1:])
    ]
