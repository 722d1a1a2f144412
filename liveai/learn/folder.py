"""A player's folder of MIDI files, read for learning: every usable file a piece (as
played), every other file skipped and counted with the reason, the whole bounded by
`learn.max_file_mb` per file and `learn.max_memory_mb` in all."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.corpus import PERFORMANCE, Piece
from ..data.midi import is_midi, read_notes
from ..errors import MidiFileError

ROW_BYTES = 4 * 8  # a note held as (start, end, pitch, velocity) float64

NOT_MIDI = "not a MIDI file (by its name)"
TOO_LARGE = "larger than learn.max_file_mb"
UNREADABLE = "not readable as MIDI"
NO_NOTES = "no notes"
PAST_MEMORY = "past learn.max_memory_mb"
FOLDER_UNREADABLE = "a folder that cannot be read"
DUPLICATE = "duplicates (the same bytes as a file kept)"
NAMED = 10  # the files of a kind named when the skipped are described, at most


@dataclass
class Folder:
    root: Path
    pieces: list[Piece] = field(default_factory=list)  # one per usable file, rel_id its path in the folder
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path in the folder, why)

    @property
    def notes(self) -> int:
        return sum(len(p.rows) for p in self.pieces)

    def skipped_counts(self) -> dict[str, int]:
        return dict(Counter(why for _, why in self.skipped))

    def describe_skipped(self) -> str:
        """Each kind counted, with its first NAMED files: "2 no notes: `a.mid`, `b.mid`"."""
        kinds: dict[str, list[str]] = {}
        for rel, why in self.skipped:
            kinds.setdefault(why, []).append(rel)
        parts = []
        for why, rels in kinds.items():
            more = f" and {len(rels) - NAMED} more" if len(rels) > NAMED else ""
            parts.append(f"{len(rels)} {why}: " + ", ".join(f"`{r}`" for r in rels[:NAMED]) + more)
        return "; ".join(parts) or "none"


def walk(root: Path, skipped: list[tuple[str, str]]) -> list[Path]:
    """Every file under `root`, sorted; a subfolder that cannot be read is counted."""
    files: list[Path] = []

    def unreadable(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else root
        skipped.append((_rel(where, root), FOLDER_UNREADABLE))

    for here, dirs, names in os.walk(root, onerror=unreadable):
        dirs.sort()
        files += [Path(here) / n for n in names]
    return sorted(files)


def read_folder(
    folder: str | Path,
    max_file_mb: float,
    max_memory_mb: float,
    progress: Callable[[int, int], None] | None = None,
) -> Folder:
    """The usable MIDI files of `folder` (recursively). A folder that is missing or cannot
    be read, or holds nothing usable, is a MidiFileError (one line: `liveai learn` exits 2)."""
    root = Path(folder).expanduser()
    if not root.exists():
        raise MidiFileError(f"{folder} does not exist")
    if not root.is_dir():
        raise MidiFileError(f"{folder} is not a folder")
    try:
        with os.scandir(root) as entries:
            next(entries, None)
    except OSError as exc:
        raise MidiFileError(
            f"cannot read the folder {folder}: {exc.strerror or type(exc).__name__}"
        ) from None
    out = Folder(root)
    files = walk(root, out.skipped)
    budget = max_memory_mb * 2**20
    used = 0
    # the files' sha1s: a copy would be learned twice, or land on both sides of the split
    seen: set[bytes] = set()
    for i, path in enumerate(files):
        if progress:
            progress(i, len(files))
        rel = _rel(path, root)
        why = _unusable(path, max_file_mb)
        if why is None and used >= budget:
            why = PAST_MEMORY
        if why is None:
            why = _copy(path, seen)
        if why is None:
            try:
                notes = read_notes(path)
            except MidiFileError:
                why = UNREADABLE
            except Exception:  # noqa: BLE001 (a library's odd error on a broken file must not end the learn)
                why = UNREADABLE
            else:
                if not notes:
                    why = NO_NOTES
                else:
                    rows = np.array([(n.start, n.end, n.pitch, n.velocity) for n in notes], np.float64)
                    out.pieces.append(Piece(rel, PERFORMANCE, rows))
                    used += len(rows) * ROW_BYTES
        if why is not None:
            out.skipped.append((rel, why))
    if progress:
        progress(len(files), len(files))
    if not out.pieces:
        raise MidiFileError(
            f"no usable MIDI files under {folder} ({len(files)} files; skipped: {out.describe_skipped()})"
        )
    return out


def _copy(path: Path, seen: set[bytes]) -> str | None:
    """DUPLICATE when a file read before had the same bytes (sorted order: the first is kept)."""
    try:
        digest = hashlib.sha1(path.read_bytes()).digest()
    except OSError:
        return UNREADABLE
    if digest in seen:
        return DUPLICATE
    seen.add(digest)
    return None


def _unusable(path: Path, max_file_mb: float) -> str | None:
    if not is_midi(path):
        return NOT_MIDI
    try:
        size = path.stat().st_size
    except OSError:
        return UNREADABLE
    return TOO_LARGE if size > max_file_mb * 2**20 else None


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
