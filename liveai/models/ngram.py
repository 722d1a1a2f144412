"""Count-based baselines over tokens: add-one unigram and interpolated Kneser-Ney n-gram.

Both are proper distributions (sum to 1 over the vocabulary for every context), so
their bits/event compare fairly with the neural models. Pieces are padded on the
left with START so that every event has a full context; each piece's own START is
the context of its first event and is never predicted (as for the neural models).
Counting and scoring are vectorised with numpy: n-grams are packed into int64 codes
of 9 bits per token.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from liveai.models import codec

BITS = 9  # 2**9 = 512 > VOCAB_SIZE
assert codec.VOCAB_SIZE <= 1 << BITS


def _columns(pieces: Iterable[np.ndarray], order: int) -> np.ndarray:
    """(N, order) int64: row = (w_{i-order+1}, ..., w_i) for every event w_i.

    A piece [START, t1, ..., tm] yields m rows, contexts left-padded with START."""
    rows = []
    for piece in pieces:
        p = np.asarray(piece, dtype=np.int64)
        if len(p) < 2:
            continue
        padded = np.concatenate([np.full(order - 1, codec.START, np.int64), p])
        m = len(p) - 1
        # the i-th event is padded[order + i - 1 + 1]; column c (oldest first) is padded[1 + c + i]
        cols = [padded[1 + c + np.arange(m)] for c in range(order)]
        rows.append(np.stack(cols, axis=1))
    if not rows:
        return np.zeros((0, order), np.int64)
    return np.concatenate(rows)


def _pack(cols: np.ndarray) -> np.ndarray:
    """(N, n) tokens -> (N,) int64 codes; the last column (the target) in the low bits."""
    code = np.zeros(len(cols), np.int64)
    for k in range(cols.shape[1]):
        code = (code << BITS) | cols[:, k]
    return code


@dataclass
class _Table:
    keys: np.ndarray  # sorted int64 codes
    values: np.ndarray  # float64

    def lookup(self, codes: np.ndarray) -> np.ndarray:
        if len(self.keys) == 0:
            return np.zeros(len(codes))
        idx = np.clip(np.searchsorted(self.keys, codes), 0, len(self.keys) - 1)
        return np.where(self.keys[idx] == codes, self.values[idx], 0.0)


def _grouped(codes: np.ndarray, weights: np.ndarray) -> tuple[_Table, _Table]:
    """For n-gram codes with weights: per context (code >> BITS) the weight total and
    the number of distinct targets."""
    ctx = codes >> BITS
    keys, inv = np.unique(ctx, return_inverse=True)
    totals = np.bincount(inv, weights=weights)
    types = np.bincount(inv).astype(np.float64)
    return _Table(keys, totals), _Table(keys, types)


def _discount(counts: np.ndarray) -> float:
    n1 = float(np.sum(counts == 1))
    n2 = float(np.sum(counts == 2))
    if n1 == 0:
        return 0.5
    return min(max(n1 / (n1 + 2 * n2), 0.05), 0.95)


class UnigramModel:
    """Add-one (Laplace) unigram over the vocabulary."""

    name = "unigram"

    def __init__(self, pieces: Iterable[np.ndarray], vocab_size: int = codec.VOCAB_SIZE) -> None:
        counts = np.zeros(vocab_size, np.float64)
        for p in pieces:
            counts += np.bincount(np.asarray(p[1:], np.int64), minlength=vocab_size)
        self.probs = (counts + 1) / (counts.sum() + vocab_size)

    def log2_probs(self, pieces: Iterable[np.ndarray]) -> np.ndarray:
        """log2 P of every event (all tokens after each piece's START)."""
        targets = _columns(pieces, 1)[:, 0]
        return np.log2(self.probs[targets])


class KneserNeyModel:
    """Interpolated Kneser-Ney n-gram (one absolute discount per order from the
    count-of-counts, D = n1 / (n1 + 2 n2)); the lowest order interpolates with uniform."""

    def __init__(
        self, pieces: Iterable[np.ndarray], order: int = 5, vocab_size: int = codec.VOCAB_SIZE
    ) -> None:
        self.order = order
        self.vocab_size = vocab_size
        self.name = f"{order}-gram-kn"
        cols = _columns(pieces, order)
        self.n_train_events = len(cols)
        # highest order: raw counts; lower orders: continuation counts N1+(. h w)
        uniq, counts = np.unique(_pack(cols), return_counts=True)
        self.tables: dict[int, tuple[_Table, _Table, _Table, float]] = {}
        weights = counts.astype(np.float64)
        for n in range(order, 0, -1):
            totals, types = _grouped(uniq, weights)
            self.tables[n] = (_Table(uniq, weights), totals, types, _discount(weights))
            if n > 1:
                # drop the oldest token of each distinct n-gram; count distinct left extensions
                uniq, counts = np.unique(uniq & ((1 << (BITS * (n - 1))) - 1), return_counts=True)
                weights = counts.astype(np.float64)

    def _probs(self, cols: np.ndarray) -> np.ndarray:
        """P(w_i | context) for rows of (order) tokens, target last."""
        grams, totals, types, d = self.tables[1]
        t = cols[:, -1]
        c = grams.lookup(t)
        total = totals.values[0] if len(totals.values) else 0.0
        n_types = types.values[0] if len(types.values) else 0.0
        if total > 0:
            p = np.maximum(c - d, 0.0) / total + d * n_types / total / self.vocab_size
        else:
            p = np.full(len(t), 1.0 / self.vocab_size)
        for n in range(2, self.order + 1):
            grams, totals, types, d = self.tables[n]
            codes = _pack(cols[:, -n:])
            c = grams.lookup(codes)
            ctx_total = totals.lookup(codes >> BITS)
            ctx_types = types.lookup(codes >> BITS)
            safe = np.where(ctx_total > 0, ctx_total, 1.0)
            p = np.where(ctx_total > 0, (np.maximum(c - d, 0.0) + d * ctx_types * p) / safe, p)
        return p

    def log2_probs(self, pieces: Iterable[np.ndarray], chunk: int = 1_000_000) -> np.ndarray:
        cols = _columns(pieces, self.order)
        out = [np.log2(self._probs(cols[i : i + chunk])) for i in range(0, len(cols), chunk)]
        return np.concatenate(out) if out else np.zeros(0)
