"""Token shards and the split: `<dir>/<split>.npy` (uint16 tokens, pieces concatenated,
each beginning with START) and `<dir>/<split>_offsets.npy` (int64, piece i is
tokens[off[i]:off[i+1]]), with `meta.json` beside them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

Split = Literal["train", "val", "test"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")


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
