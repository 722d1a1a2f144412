"""Corpus -> timed notes -> token shards; split and augmentation (numpy only, no torch).

Scores carry no performance timing, so they are *rendered*: quarter = `bpm`, notes
slightly detached (`ARTICULATION` of their written length), velocity = a per-piece
dynamic level + a metric accent + small seeded noise. Everything is seeded by the
piece id, so a rerun produces the same tokens.

Shards: `<dir>/<split>.npy` (uint16 tokens, pieces concatenated, each beginning with
START) and `<dir>/<split>_offsets.npy` (int64, piece i is tokens[off[i]:off[i+1]]).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from liveai.models import codec
from liveai.models.codec import Note

log = logging.getLogger(__name__)

Split = Literal["train", "val", "test"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")

DEFAULT_BPM = 100.0
ARTICULATION = 0.9  # sounding fraction of the written length
BASE_VELOCITY = 72
MIDI_SUFFIXES = (".mid", ".midi")
MAX_REPEAT_EXPANSION = 3.0  # expanded / written length above which repeats are not expanded


# --- split ----------------------------------------------------------------------


def split_of(rel_id: str) -> Split:
    """Deterministic split from a stable hash of the piece's relative id
    (e.g. "essenFolksong/altdeu10.abc#12"): test if hash % 10 == 0, val if == 1."""
    h = int.from_bytes(hashlib.sha1(rel_id.encode("utf-8")).digest()[:8], "big")
    r = h % 10
    if r == 0:
        return "test"
    if r == 1:
        return "val"
    return "train"


def _seed_of(rel_id: str) -> int:
    return int.from_bytes(hashlib.sha1(("seed:" + rel_id).encode("utf-8")).digest()[:4], "big")


# --- rendering scores -----------------------------------------------------------


def render_notes(
    raw: Sequence[tuple[float, float, float, int]],
    rel_id: str,
    bpm: float = DEFAULT_BPM,
) -> list[Note]:
    """Timed notes from (offset_quarters, length_quarters, beat_strength, pitch) rows.

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


@dataclass(frozen=True, slots=True)
class Piece:
    rel_id: str
    notes: list[Note]


def parse_music21_file(path: Path, rel: str, bpm: float = DEFAULT_BPM) -> list[Piece]:
    """Every tune of a music21-readable file (abc opus files hold many tunes)."""
    from music21 import converter, stream  # noqa: PLC0415

    # forceSource/storePickle: never read or write music21's pickle cache.
    parsed = converter.parse(str(path), forceSource=True, storePickle=False)
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    pieces = []
    for i, sc in enumerate(scores):
        rel_id = f"{rel}#{i}"
        try:
            notes = render_notes(score_rows(sc), rel_id, bpm)
        except Exception as exc:  # a broken tune must not lose the whole opus
            log.warning("skipping %s: %s: %s", rel_id, type(exc).__name__, exc)
            continue
        if notes:
            pieces.append(Piece(rel_id, notes))
    return pieces


def parse_midi_file(path: Path, rel: str) -> list[Piece]:
    notes = codec.midi_to_notes(path)
    return [Piece(f"{rel}#0", notes)] if notes else []


def parse_any(path: Path, rel: str, bpm: float = DEFAULT_BPM) -> list[Piece]:
    if path.suffix.lower() in MIDI_SUFFIXES:
        return parse_midi_file(path, rel)
    return parse_music21_file(path, rel, bpm)


# --- per-file cache (npz of plain arrays; no pickle) ----------------------------

CACHE_VERSION = 2


def cache_key(path: Path, rel: str, bpm: float) -> str:
    st = path.stat()
    key = f"{CACHE_VERSION}|{rel}|{st.st_size}|{st.st_mtime_ns}|{bpm}"
    return hashlib.sha1(key.encode()).hexdigest()


def save_pieces(path: Path, pieces: Sequence[Piece]) -> None:
    notes = np.array([n for p in pieces for n in p.notes], dtype=np.float64).reshape(-1, 4)
    counts = np.array([len(p.notes) for p in pieces], dtype=np.int64)
    ids = np.array([p.rel_id for p in pieces], dtype=np.str_)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, notes=notes, counts=counts, ids=ids)
    tmp.replace(path)


def parse_to_cache(job: tuple[Path, str, float, Path]) -> tuple[str, int, float]:
    """Worker-process entry: parse one file and cache its pieces.
    job = (path, rel, bpm, cache_file) -> (rel, pieces, seconds)."""
    path, rel, bpm, cache_file = job
    t0 = time.perf_counter()
    pieces = parse_any(path, rel, bpm)
    save_pieces(cache_file, pieces)
    return rel, len(pieces), time.perf_counter() - t0


def load_pieces(path: Path) -> list[Piece]:
    with np.load(path, allow_pickle=False) as z:
        notes, counts, ids = z["notes"], z["counts"], z["ids"]
    pieces, i = [], 0
    for rel_id, c in zip(ids, counts):
        rows = notes[i : i + c]
        i += c
        pieces.append(Piece(str(rel_id), [Note(float(s), float(e), int(p), int(v)) for s, e, p, v in rows]))
    return pieces


# --- shards -----------------------------------------------------------------------


@dataclass(frozen=True)
class TokenSplit:
    tokens: np.ndarray  # (N,) uint16
    offsets: np.ndarray  # (P + 1,) int64

    @property
    def n_pieces(self) -> int:
        return len(self.offsets) - 1

    def piece(self, i: int) -> np.ndarray:
        return self.tokens[self.offsets[i] : self.offsets[i + 1]]

    def pieces(self) -> Iterable[np.ndarray]:
        for i in range(self.n_pieces):
            yield self.piece(i)


def build_split(token_lists: Iterable[Sequence[int]]) -> TokenSplit:
    arrays = [np.asarray(t, dtype=np.uint16) for t in token_lists]
    lengths = np.array([0] + [len(a) for a in arrays], dtype=np.int64)
    tokens = np.concatenate(arrays) if arrays else np.zeros(0, np.uint16)
    return TokenSplit(tokens, np.cumsum(lengths))


def save_split(directory: Path, split: str, data: TokenSplit) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / f"{split}.npy", data.tokens)
    np.save(directory / f"{split}_offsets.npy", data.offsets)


def load_split(directory: str | Path, split: str, mmap: bool = False) -> TokenSplit:
    d = Path(directory)
    mode = "r" if mmap else None
    tokens = np.load(d / f"{split}.npy", mmap_mode=mode, allow_pickle=False)
    offsets = np.load(d / f"{split}_offsets.npy", allow_pickle=False)
    return TokenSplit(tokens, offsets)


def load_meta(directory: str | Path) -> dict[str, Any]:
    return json.loads((Path(directory) / "meta.json").read_text())


# --- augmentation (train only) ----------------------------------------------------


def pitch_bounds(tokens: np.ndarray) -> tuple[int, int] | None:
    """(lowest, highest) pitch of note tokens, None if there are none."""
    t = tokens.astype(np.int64)
    notes = t[t < codec.TIME_SHIFT_OFFSET] % codec.N_PITCHES
    if notes.size == 0:
        return None
    return int(notes.min()), int(notes.max())


def transpose_tokens(tokens: np.ndarray, semitones: int) -> np.ndarray:
    """Shift every NOTE_ON/NOTE_OFF by `semitones`; raises if a pitch leaves 0..127."""
    t = tokens.astype(np.int64)
    is_note = t < codec.TIME_SHIFT_OFFSET
    pitch = t % codec.N_PITCHES + semitones
    if np.any(is_note & ((pitch < 0) | (pitch >= codec.N_PITCHES))):
        raise ValueError(f"transposition by {semitones} leaves the MIDI range")
    out = np.where(is_note, t - t % codec.N_PITCHES + pitch, t)
    return out.astype(tokens.dtype)


def clamp_transposition(tokens: np.ndarray, semitones: int) -> int:
    """The shift closest to `semitones` that keeps every note in 0..127."""
    b = pitch_bounds(tokens)
    if b is None:
        return semitones
    lo, hi = b
    return int(min(max(semitones, -lo), codec.N_PITCHES - 1 - hi))


def stretch_tokens(tokens: np.ndarray, factor: float) -> np.ndarray:
    """Scale every gap between events by `factor` (tempo change), re-quantised to
    the 10 ms grid without drift (cumulative times are rounded, not each gap)."""
    out: list[int] = []
    t_in = 0  # cumulative input steps
    t_out = 0  # cumulative output steps emitted
    pending = False
    for tok in tokens.tolist():
        if codec.is_time_shift(tok):
            t_in += codec.time_shift_steps(tok)
            pending = True
            continue
        if pending:
            target = int(round(t_in * factor))
            out.extend(codec.time_shift_tokens(target - t_out))
            t_out = max(t_out, target)
            pending = False
        out.append(tok)
    if pending:
        target = int(round(t_in * factor))
        out.extend(codec.time_shift_tokens(target - t_out))
    return np.asarray(out, dtype=tokens.dtype)


@dataclass(frozen=True, slots=True)
class Augment:
    transpose: tuple[int, int] = (-5, 6)  # inclusive semitone range
    stretch: tuple[float, float] = (0.9, 1.1)  # tempo factor range


def augment(tokens: np.ndarray, rng: np.random.Generator, aug: Augment = Augment()) -> np.ndarray:
    """A random transposition (clamped to the MIDI range) and tempo stretch."""
    semis = clamp_transposition(tokens, int(rng.integers(aug.transpose[0], aug.transpose[1] + 1)))
    out = transpose_tokens(tokens, semis) if semis else tokens
    factor = float(rng.uniform(*aug.stretch))
    return stretch_tokens(out, factor)
