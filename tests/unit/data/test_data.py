"""Data preparation: split, rendering, caching, augmentation."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from liveai.data.augment import Augment, augment, clamp_transposition, stretch_tokens, transpose_tokens
from liveai.data.corpus import PERFORMANCE, SCORE, Piece, load_pieces, perform_score, save_pieces
from liveai.data.midi import notes_to_midi
from liveai.data.shards import build_split, load_split, save_split, split_of
from liveai.models import codec
from liveai.music.note import Note


def test_split_is_deterministic_and_roughly_80_10_10() -> None:
    ids = [f"essenFolksong/x{i // 50}.abc#{i % 50}" for i in range(5000)]
    splits = [split_of(i) for i in ids]
    assert splits == [split_of(i) for i in ids]
    c = Counter(splits)
    assert 400 < c["test"] < 600 and 400 < c["val"] < 600
    # pinned values: the rule (sha1 % 10) must never change silently
    assert split_of("bach/bwv1.6.mxl#0") == split_of("bach/bwv1.6.mxl#0")
    import hashlib

    h = int.from_bytes(hashlib.sha1(b"oneills1850/0001-0050.abc#3").digest()[:8], "big") % 10
    assert split_of("oneills1850/0001-0050.abc#3") == ("test" if h == 0 else "val" if h == 1 else "train")


def test_perform_score() -> None:
    rows = [(1.0, 1.0, 1.0, 60), (1.0, 1.0, 1.0, 64), (2.0, 0.5, 0.25, 62), (2.5, 0.0, 0.0, 70)]
    notes = perform_score(rows, "x#0", bpm=120)
    assert [n.pitch for n in notes] == [60, 64, 62]  # the zero-length grace note is dropped
    assert notes[0].start == 0.0 and notes[2].start == pytest.approx(0.5)
    assert notes[0].end == pytest.approx(0.5 * 0.9)
    assert notes[0].velocity == notes[1].velocity  # a chord shares one velocity
    assert notes == perform_score(rows, "x#0", bpm=120)  # seeded by the id


def test_cache_round_trip(tmp_path: Path) -> None:
    pieces = [
        Piece("a#0", SCORE, np.array([(0.0, 1.0, 1.0, 60), (1.0, 0.5, 0.5, 62)], np.float64)),
        Piece("b#0", PERFORMANCE, np.array([(0.1, 0.2, 61, 71), (0.2, 0.3, 62, 72)], np.float64)),
    ]
    save_pieces(tmp_path / "c.npz", pieces)
    again = load_pieces(tmp_path / "c.npz")
    assert [(p.rel_id, p.kind) for p in again] == [(p.rel_id, p.kind) for p in pieces]
    assert all(np.array_equal(a.rows, b.rows) for a, b in zip(again, pieces))
    assert again[1].canonical_notes() == [Note(0.1, 0.2, 61, 71), Note(0.2, 0.3, 62, 72)]
    assert again[0].canonical_notes() == perform_score([(0.0, 1.0, 1.0, 60), (1.0, 0.5, 0.5, 62)], "a#0")


def test_shards_round_trip(tmp_path: Path) -> None:
    data = build_split([[codec.START, 1, 2], [codec.START, 3]])
    save_split(tmp_path, "train", data)
    back = load_split(tmp_path, "train")
    assert back.tokens.dtype == np.uint16
    assert [p.tolist() for p in back.pieces()] == [[codec.START, 1, 2], [codec.START, 3]]


def _tokens(notes: list[Note]) -> np.ndarray:
    return np.asarray(codec.encode_notes(notes, start_token=True), np.uint16)


NOTES = [Note(0.0, 0.4, 60, 80), Note(0.5, 1.0, 64, 60), Note(0.5, 2.7, 67, 60)]


def test_transpose() -> None:
    t = transpose_tokens(_tokens(NOTES), 5)
    assert [n.pitch for n in codec.decode_tokens(t.tolist())] == [65, 69, 72]
    with pytest.raises(ValueError):
        transpose_tokens(_tokens([Note(0, 1, 125, 80)]), 5)
    assert clamp_transposition(_tokens([Note(0, 1, 125, 80)]), 5) == 2
    assert clamp_transposition(_tokens([Note(0, 1, 2, 80)]), -5) == -2


def test_stretch_scales_times_without_drift() -> None:
    t = stretch_tokens(_tokens(NOTES), 1.1)
    notes = codec.decode_tokens(t.tolist())
    for a, b in zip(notes, codec.decode_tokens(_tokens(NOTES).tolist())):
        assert a.start == pytest.approx(b.start * 1.1, abs=0.011)
        assert a.end == pytest.approx(b.end * 1.1, abs=0.011)
    assert stretch_tokens(_tokens(NOTES), 1.0).tolist() == _tokens(NOTES).tolist()


def test_augment_keeps_tokens_valid() -> None:
    rng = np.random.default_rng(0)
    base = _tokens(NOTES * 1)
    for _ in range(200):
        a = augment(base, rng, Augment())
        assert a.dtype == base.dtype
        assert ((a >= 0) & (a < codec.VOCAB_SIZE)).all()
        notes = codec.decode_tokens(a.tolist())
        assert len(notes) == 3
        shift = notes[0].pitch - 60
        assert -5 <= shift <= 6 and [n.pitch - shift for n in notes] == [60, 64, 67]
        assert 2.7 * 0.9 - 0.02 <= max(n.end for n in notes) <= 2.7 * 1.1 + 0.02


def test_prepare_data_on_a_midi_folder(tmp_path: Path) -> None:
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location(
        "prepare_data", Path(__file__).parents[3] / "scripts" / "prepare_data.py"
    )
    assert spec and spec.loader
    prep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prep)
    midi = tmp_path / "midi"
    midi.mkdir()
    for i in range(12):
        notes = [Note(k * 0.3, k * 0.3 + 0.25, 60 + (i + k) % 12, 70) for k in range(10)]
        notes_to_midi(notes).write(str(midi / f"song{i}.mid"))
    args = [
        "--midi-dir",
        str(midi),
        "--out",
        str(tmp_path / "out"),
        "--cache",
        str(tmp_path / "cache"),
        "--workers",
        "1",
    ]
    assert prep.main(args) == 0
    meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert sum(s["pieces"] for s in meta["splits"].values()) == 12
    for split in ("train", "val", "test"):
        data = load_split(tmp_path / "out", split)
        for piece in data.pieces():
            assert piece[0] == codec.START and len(codec.decode_tokens(piece.tolist())) == 10
    pieces = [
        p for split in ("train", "val", "test") for p in load_pieces(tmp_path / "out" / f"{split}_pieces.npz")
    ]
    assert (
        len(pieces) == 12
        and {p.kind for p in pieces} == {"performance"}
        and all(len(p.rows) == 10 for p in pieces)
    )
    assert prep.main(args) == 0  # rerun from the cache
