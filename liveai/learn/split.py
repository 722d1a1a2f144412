"""The player's files split into train and held-out by file, with the corpus's fixed
rule (liveai.data.shards.split_of: a sha1 of the file's path in the folder): its test
and validation tenths are held out, so a file stays on its side however the folder
grows. At least one file is held out and one trained on; a folder of one file holds out
its last fifth of notes instead."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ..data.corpus import Piece
from ..data.shards import split_of

ONE_FILE_HELD_OUT = 0.2  # the share of a lone file's notes held out (its end)


def file_hash(rel_id: str) -> int:
    return int.from_bytes(hashlib.sha1(rel_id.encode("utf-8")).digest()[:8], "big")


def split_pieces(pieces: Sequence[Piece]) -> tuple[list[Piece], list[Piece]]:
    """(train, held out)."""
    if len(pieces) == 1:
        piece = pieces[0]
        cut = max(1, min(len(piece.rows) - 1, round(len(piece.rows) * (1 - ONE_FILE_HELD_OUT))))
        if len(piece.rows) < 2:
            return [piece], [piece]  # one note: nothing to hold out, scored on what it learned
        return ([Piece(piece.rel_id + "#train", piece.kind, piece.rows[:cut])],
                [Piece(piece.rel_id + "#held-out", piece.kind, _from_zero(piece.rows[cut:]))])
    held = [p for p in pieces if split_of(p.rel_id) != "train"]
    by_hash = sorted(pieces, key=lambda p: file_hash(p.rel_id))
    if not held:
        held = by_hash[:1]
    elif len(held) == len(pieces):
        held = [p for p in held if p is not by_hash[-1]]
    kept = {id(p) for p in held}
    return [p for p in pieces if id(p) not in kept], [p for p in pieces if id(p) in kept]


def _from_zero(rows):  # type: ignore[no-untyped-def]
    rows = rows.copy()
    shift = rows[:, 0].min()
    rows[:, 0] -= shift
    rows[:, 1] -= shift
    return rows
