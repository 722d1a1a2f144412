"""The corpus: music21 scores as written (onsets and lengths in quarter notes, beat
strengths), MIDI files as played; one cache file per source file (plain arrays, no
pickle).

Scores carry no performance timing. Their canonical rendering (`perform_score`, what
the validation and test splits are scored on) plays them at DEFAULT_BPM, notes slightly
detached (`ARTICULATION` of their written length), velocity = a per-piece dynamic
level + a metric accent + small seeded noise, seeded by the piece id so a rerun gives
the same tokens. Training performs them anew for every window (`performance.py`).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..music.note import Note
from .midi import MIDI_SUFFIXES, midi_to_notes

log = logging.getLogger(__name__)

DEFAULT_BPM = 100.0
ARTICULATION = 0.9  # sounding fraction of the written length
BASE_VELOCITY = 72
MAX_REPEAT_EXPANSION = 3.0  # expanded / written length above which repeats are not expanded


def _seed_of(rel_id: str) -> int:
    return int.from_bytes(hashlib.sha1(("seed:" + rel_id).encode("utf-8")).digest()[:4], "big")


# --- performing scores ----------------------------------------------------------


def perform_score(
    raw: Sequence[tuple[float, float, float, int]],
    rel_id: str,
    bpm: float = DEFAULT_BPM,
) -> list[Note]:
    """A score performed: timed notes from (offset_quarters, length_quarters, beat_strength,
    pitch) rows.

    Humanisation (documented in the model card): per-piece level uniform in
    [-16, +16], accent +10 on beat strength 1 and +5 on 0.5, gaussian noise sd 3
    drawn once per onset time, so a chord shares one velocity (as a player's hand).
    """
    if not raw:
        return []
    rng = np.random.default_rng(_seed_of(rel_id))
    level = BASE_VELOCITY + int(rng.integers(-16, 17))
    sec_per_q = 60.0 / bpm
    t0 = min(r[0] for r in raw)
    onset_noise: dict[float, float] = {}
    for off in sorted({r[0] for r in raw}):
        onset_noise[off] = float(rng.normal(0.0, 3.0))
    notes = []
    for off, length, strength, pitch in raw:
        if length <= 0:  # grace notes carry no written duration
            continue
        accent = 10 if strength >= 1.0 else 5 if strength >= 0.5 else 0
        vel = int(np.clip(round(level + accent + onset_noise[off]), 1, 127))
        start = (off - t0) * sec_per_q
        notes.append(Note(start, start + max(length * ARTICULATION * sec_per_q, 0.02), int(pitch), vel))
    notes.sort(key=lambda n: (n.start, n.pitch))
    return notes


def score_rows(score: Any) -> list[tuple[float, float, float, int]]:
    """(offset, length, beat strength, pitch) of every sounding pitch of a music21
    score, repeats expanded where music21 can, ties merged."""
    from music21 import exceptions21  # noqa: PLC0415 (heavy import, data prep only)

    written = float(score.highestTime)
    try:
        expanded = score.expandRepeats()
        # music21 occasionally loops on odd abc endings (an O'Neill reel became 4.6
        # hours); real repeats at most about double a tune, so keep the written form.
        if float(expanded.highestTime) <= MAX_REPEAT_EXPANSION * max(written, 1.0):
            score = expanded
        else:
            log.info("repeat expansion x%.1f refused", float(expanded.highestTime) / max(written, 1.0))
    except exceptions21.Music21Exception as exc:
        log.debug("repeats not expanded: %s", exc)
    score = score.stripTies()
    rows = []
    for n in score.recurse().notes:
        off = float(n.getOffsetInHierarchy(score))
        length = float(n.quarterLength)
        try:
            strength = float(n.beatStrength)
        except exceptions21.Music21Exception:
            strength = 0.0
        for p in n.pitches:
            if 0 <= p.midi < 128:
                rows.append((off, length, strength, int(p.midi)))
    return rows


# --- parsing files (run in worker processes) ------------------------------------

SCORE, PERFORMANCE = "score", "performance"


@dataclass(frozen=True, slots=True)
class Piece:
    """One tune or song. A score's rows are (onset, length, beat strength, pitch) in
    quarter notes, to be performed (`canonical_notes`, or `performance.perform` with a
    style); a performance's rows are (start, end, pitch, velocity) in seconds, as played."""

    rel_id: str
    kind: str  # SCORE or PERFORMANCE
    rows: np.ndarray  # (n, 4) float64

    def canonical_notes(self) -> list[Note]:
        """The notes the test and validation splits are scored on: a score rendered at
        DEFAULT_BPM as the shipped models were trained, a performance as played."""
        if self.kind == SCORE:
            return perform_score([(r[0], r[1], r[2], int(r[3])) for r in self.rows.tolist()], self.rel_id)
        return [Note(s, e, int(p), int(v)) for s, e, p, v in self.rows.tolist()]


def parse_music21_file(path: Path, rel: str) -> list[Piece]:
    """Every tune of a music21-readable file (abc opus files hold many tunes)."""
    from music21 import converter, stream  # noqa: PLC0415

    # forceSource/storePickle: never read or write music21's pickle cache.
    parsed = converter.parse(str(path), forceSource=True, storePickle=False)
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    pieces = []
    for i, sc in enumerate(scores):
        rel_id = f"{rel}#{i}"
        try:
            rows = score_rows(sc)  # grace notes too (length 0): renderers skip them
        except Exception as exc:  # a broken tune must not lose the whole opus
            log.warning("skipping %s: %s: %s", rel_id, type(exc).__name__, exc)
            continue
        if any(r[1] > 0 for r in rows):
            # by onset: a passage is a slice (music21 gives part by part)
            rows.sort(key=lambda r: (r[0], r[3]))
            pieces.append(Piece(rel_id, SCORE, np.array(rows, np.float64)))
    return pieces


def parse_midi_file(path: Path, rel: str) -> list[Piece]:
    notes = midi_to_notes(path)
    rows = np.array([(n.start, n.end, n.pitch, n.velocity) for n in notes], np.float64).reshape(-1, 4)
    return [Piece(f"{rel}#0", PERFORMANCE, rows)] if notes else []


def parse_any(path: Path, rel: str) -> list[Piece]:
    if path.suffix.lower() in MIDI_SUFFIXES:
        return parse_midi_file(path, rel)
    return parse_music21_file(path, rel)


# --- per-file cache (npz of plain arrays; no pickle) ----------------------------

CACHE_VERSION = 3


def cache_key(path: Path, rel: str) -> str:
    st = path.stat()
    key = f"{CACHE_VERSION}|{rel}|{st.st_size}|{st.st_mtime_ns}"
    return hashlib.sha1(key.encode()).hexdigest()


def save_pieces(path: Path, pieces: Sequence[Piece]) -> None:
    rows = np.concatenate([p.rows for p in pieces]) if pieces else np.zeros((0, 4))
    counts = np.array([len(p.rows) for p in pieces], dtype=np.int64)
    ids = np.array([p.rel_id for p in pieces], dtype=np.str_)
    kinds = np.array([p.kind for p in pieces], dtype=np.str_)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, rows=rows, counts=counts, ids=ids, kinds=kinds)
    tmp.replace(path)


def parse_to_cache(job: tuple[Path, str, Path]) -> tuple[str, int, float]:
    """Worker-process entry: parse one file and cache its pieces.
    job = (path, rel, cache_file) -> (rel, pieces, seconds)."""
    path, rel, cache_file = job
    t0 = time.perf_counter()
    pieces = parse_any(path, rel)
    save_pieces(cache_file, pieces)
    return rel, len(pieces), time.perf_counter() - t0


def load_pieces(path: Path) -> list[Piece]:
    with np.load(path, allow_pickle=False) as z:
        rows, counts, ids, kinds = z["rows"], z["counts"], z["ids"], z["kinds"]
    pieces, i = [], 0
    for rel_id, kind, c in zip(ids, kinds, counts):
        pieces.append(Piece(str(rel_id), str(kind), rows[i : i + c]))
        i += c
    return pieces
