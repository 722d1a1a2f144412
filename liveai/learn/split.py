"""The player's files split three ways by file, with the corpus's fixed rule
(liveai.data.shards.split_of: a sha1 of the file's path in the folder), so a file stays
on its side however the folder grows:

- train: what the model learns from (eight tenths);
- validation (a tenth): scored while learning, it chooses the checkpoint kept and
  stops the learning when it no longer improves;
- test (a tenth): scored before and after, for the card only; never seen while learning.

A small folder degrades in steps, each said on the card (`Split.note`): an empty side
takes files from the largest, in sha1 order; with two files the one held out is both
validation and test (`shared`); a folder of one file holds out its end instead (its last
fifth; split into validation and test when each part has MIN_PART_NOTES notes)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from ..data.corpus import Piece
from ..data.shards import split_of

ONE_FILE_HELD_OUT = 0.2  # the share of a lone file's notes held out (its end)
MIN_PART_NOTES = 8  # a lone file's validation and test parts each need this many notes, else they are shared


@dataclass
class Split:
    train: list[Piece]
    validation: list[Piece]
    test: list[Piece]
    shared: bool = False  # the validation files are the test files (too few files for both)
    moved: int = 0  # files the rule put on another side, moved so that no side is empty

    @property
    def held_out(self) -> list[Piece]:
        """Validation and test, each file once."""
        seen = {id(p) for p in self.validation}
        return [*self.validation, *(p for p in self.test if id(p) not in seen)]

    @property
    def note(self) -> str:
        """What the card says of a split that had to give way ("" for the rule's own)."""
        if self.train and self.train[0] is self.validation[0]:
            return "one note only: scored on what it learned"
        if len(self.train) == 1 and len(self.held_out) <= 2 and self.train[0].rel_id.endswith("#train"):
            end = "its last fifth of notes held out"
            if self.shared:
                return (
                    f"one file: {end}, both validation and test (too short to part), "
                    "so the test figure after is optimistic"
                )
            return f"one file: {end}, its first half validation and its second test"
        if self.shared:
            return (
                "only 2 files: the one held out is both validation and test, so the test figure after is "
                "optimistic"
            )
        if self.moved:
            return (
                f"{self.moved} file(s) moved from the side the rule gave them, so that none is empty "
                "(the lowest sha1 first)"
            )
        return ""


def file_hash(rel_id: str) -> int:
    return int.from_bytes(hashlib.sha1(rel_id.encode("utf-8")).digest()[:8], "big")


def split_pieces(pieces: Sequence[Piece]) -> Split:
    if len(pieces) == 1:
        return _one_file(pieces[0])
    if len(pieces) == 2:  # one learned from, one held out: both validation and test
        train, held = _two(pieces)
        return Split(train, held, held, shared=True)
    sides: dict[str, list[Piece]] = {"train": [], "val": [], "test": []}
    for p in sorted(pieces, key=lambda p: file_hash(p.rel_id)):
        sides[split_of(p.rel_id)].append(p)
    moved = 0
    for empty in ("train", "test", "val"):  # in this order of need: learn, score the card, choose
        if not sides[empty]:
            donor = max(sides, key=lambda side: len(sides[side]))  # of 3 files or more: it has 2 or more
            sides[empty].append(sides[donor].pop(0))  # the lowest sha1 of the largest side
            moved += 1
    order = {id(p): i for i, p in enumerate(pieces)}  # each side in the folder's order
    train, val, test = (sorted(sides[s], key=lambda p: order[id(p)]) for s in ("train", "val", "test"))
    return Split(train, val, test, moved=moved)


def _two(pieces: Sequence[Piece]) -> tuple[list[Piece], list[Piece]]:
    """The rule's held-out file if one is, else the lower sha1 held out."""
    held = [p for p in pieces if split_of(p.rel_id) != "train"]
    if len(held) != 1:
        held = [min(pieces, key=lambda p: file_hash(p.rel_id))]
    return [p for p in pieces if p is not held[0]], held


def _one_file(piece: Piece) -> Split:
    n = len(piece.rows)
    if n < 2:
        return Split([piece], [piece], [piece], shared=True)  # one note: nothing to hold out
    cut = max(1, min(n - 1, round(n * (1 - ONE_FILE_HELD_OUT))))
    train = [Piece(piece.rel_id + "#train", piece.kind, piece.rows[:cut])]
    middle = cut + (n - cut) // 2
    if middle - cut < MIN_PART_NOTES or n - middle < MIN_PART_NOTES:
        held = [Piece(piece.rel_id + "#held-out", piece.kind, _from_zero(piece.rows[cut:]))]
        return Split(train, held, held, shared=True)
    return Split(
        train,
        [Piece(piece.rel_id + "#validation", piece.kind, _from_zero(piece.rows[cut:middle]))],
        [Piece(piece.rel_id + "#test", piece.kind, _from_zero(piece.rows[middle:]))],
    )


def _from_zero(rows):  # type: ignore[no-untyped-def]
    rows = rows.copy()
    shift = rows[:, 0].min()
    rows[:, 0] -= shift
    rows[:, 1] -= shift
    return rows
