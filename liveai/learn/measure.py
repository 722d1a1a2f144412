"""The figures of a learned model against its base: bits/event on the player's held-out
files and on the corpus's test split, and continuations of the held-out phrases (key
and pace agreement, liveai.data.metrics), all with the evaluation code of the shipped
models."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from ..data import metrics
from ..data.corpus import Piece, load_pieces
from ..data.evaluate import model_bits
from ..data.generate import generate_continuation
from ..data.midi import notes_to_midi
from ..data.shards import load_split
from ..models import codec
from ..music.note import Note

PRIME_S = 8.0  # a held-out phrase: the first seconds of a held-out file
CONTINUE_S = 8.0
PHRASES = 6
PACE_WITHIN = 1.5  # a continuation keeps the pace when its notes/s are within 1.5x the phrase's


def piece_tokens(pieces: Sequence[Piece], max_events: int) -> list[np.ndarray]:
    """The pieces' canonical tokens (each from START), until `max_events` are taken."""
    out, n = [], 0
    for p in pieces:
        if n >= max_events:
            break
        tokens = np.asarray(codec.encode_notes(p.canonical_notes(), start_token=True), np.int64)
        if len(tokens) >= 2:
            out.append(tokens)
            n += len(tokens) - 1
    return out


def split_sets(data: Path, split: str, events: int) -> dict[str, list[np.ndarray]]:
    """A prepared split's canonical tokens, scores and played MIDI apart (each up to
    `events` / 2 events), so neither kind of music hides the other."""
    tokens = load_split(data, split, mmap=True)
    pieces_file = data / f"{split}_pieces.npz"
    kinds = (
        [p.kind for p in load_pieces(pieces_file)] if pieces_file.exists() else ["score"] * tokens.n_pieces
    )
    sets: dict[str, list[np.ndarray]] = {}
    for kind in dict.fromkeys(kinds):
        share = events // len(set(kinds))
        taken, n = [], 0
        for i, k in enumerate(kinds):
            if n >= share:
                break
            if k == kind:
                taken.append(np.asarray(tokens.piece(i), np.int64))
                n += len(taken[-1]) - 1
        sets[kind] = taken
    return sets


def corpus_test(corpus: str, max_events: int) -> tuple[dict[str, list[np.ndarray]], str]:
    """The corpus's test pieces by kind, or none and why not (absent, as on a player's machine)."""
    root = Path(corpus) if corpus else None
    if root is None or not (root / "test.npy").exists():
        return (
            {},
            f"no prepared corpus at {corpus!r} (it is not on a player's machine): forgetting not measured",
        )
    meta = json.loads((root / "meta.json").read_text()) if (root / "meta.json").exists() else {}
    if meta.get("vocab") != codec.describe_vocab():
        return {}, f"the corpus at {corpus} has another vocabulary: forgetting not measured"
    return split_sets(root, "test", max_events), f"{root}, its test split (scores and played MIDI alike)"


def bits(model: nn.Module, pieces: Sequence[np.ndarray]) -> float | None:
    if not pieces:
        return None
    total, n = model_bits(model, pieces)
    return round(total / n, 4) if n else None


def kinds_bits(model: nn.Module, sets: dict[str, list[np.ndarray]]) -> dict[str, float | None]:
    """Bits/event of each kind of music, and their mean ("all": each kind counts alike)."""
    per = {kind: bits(model, pieces) for kind, pieces in sets.items()}
    known = [v for v in per.values() if v is not None]
    return {**per, "all": round(sum(known) / len(known), 4) if known else None}


def phrases(pieces: Sequence[Piece], count: int = PHRASES) -> list[list[Note]]:
    """The first PRIME_S seconds of up to `count` held-out pieces (at least 4 notes each)."""
    out = []
    for p in pieces:
        notes = [n for n in p.canonical_notes() if n.start < PRIME_S]
        if len(notes) >= 4:
            out.append(notes)
        if len(out) >= count:
            break
    return out


def continuations(
    model: nn.Module, primes: Sequence[list[Note]], seed: int = 0
) -> tuple[dict[str, Any], list[Note]]:
    """Key and pace agreement of the model's continuations of `primes` (the same seeds
    for every model), and the first continuation's notes (for the piano roll)."""
    same_key, paces, first, correlations = 0, [], [], []
    for i, prime in enumerate(primes):
        midi = generate_continuation(
            model,
            notes_to_midi(prime),
            CONTINUE_S,
            seed=seed + i,  # type: ignore[arg-type]
            include_prime=False,
        )
        notes = [Note(n.start, n.end, n.pitch, n.velocity) for inst in midi.instruments for n in inst.notes]
        c = metrics.compare(prime, notes)
        same_key += int(c["prime_key"] is not None and c["prime_key"] == c["continuation_key"])
        correlations.append(float(c["pitch_class_correlation"]))  # type: ignore[arg-type]
        if float(c["prime_notes_per_second"]) > 0:  # type: ignore[arg-type]
            paces.append(float(c["continuation_notes_per_second"]) / float(c["prime_notes_per_second"]))  # type: ignore[arg-type]
        if i == 0:
            first = notes
    n = len(primes)
    return {
        "phrases": n,
        "key_agreement": round(same_key / n, 3) if n else None,
        "pitch_class_correlation": round(float(np.mean(correlations)), 3) if n else None,
        "pace_ratio_median": round(float(np.median(paces)), 3) if paces else None,
        "pace_within_1_5x": round(sum(1 / PACE_WITHIN <= r <= PACE_WITHIN for r in paces) / len(paces), 3)
        if paces
        else None,
    }, first


def figures(
    model: nn.Module,
    test: list,
    validation: list,
    corpus: dict,
    primes: list,
    seed: int,
    quick: bool = False,
) -> dict[str, Any]:
    """A learn's figures: `heldout_bits` on the test files (the card's), `validation_bits` on the files that
    chose the checkpoint. `quick`: those only (a stop is waiting); the slow figures are None."""
    if quick:
        return {
            "heldout_bits": bits(model, test),
            "validation_bits": bits(model, validation),
            "corpus_bits": None,
            "phrases": 0,
            "key_agreement": None,
            "pitch_class_correlation": None,
            "pace_ratio_median": None,
            "pace_within_1_5x": None,
            "_first": [],
        }
    conts, first = continuations(model, primes, seed)
    per_kind = kinds_bits(model, corpus) if corpus else {}
    return {
        "heldout_bits": bits(model, test),
        "validation_bits": bits(model, validation),
        "corpus_bits": per_kind.get("all"),
        **{f"corpus_{k}_bits": v for k, v in per_kind.items() if k != "all"},
        **conts,
        "_first": first,
    }
