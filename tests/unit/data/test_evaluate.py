"""Baselines, evaluation, checkpoints, generation and music metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from liveai.data.evaluate import evaluate_midi_files, model_bits, score_pieces
from liveai.data.generate import generate_continuation
from liveai.data.metrics import compare, notes_per_second, pitch_class_correlation
from liveai.data.midi import notes_to_midi
from liveai.models import codec
from liveai.models.checkpoint import CheckpointError, build_model, load_checkpoint, save_checkpoint
from liveai.models.ngram import KneserNeyModel, UnigramModel
from liveai.models.sampling import Constraints
from liveai.music.note import Note
from liveai.music.tonality import estimate_key


def _pieces(n: int, seed: int) -> list[np.ndarray]:
    """A toy 'language': repeated scale fragments, so context helps."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        base = int(rng.integers(50, 70))
        toks = [codec.START]
        for k in range(int(rng.integers(5, 40))):
            p = base + [0, 2, 4, 5, 7][k % 5]
            toks += [codec.note_on(p), codec.time_shift(int(rng.integers(10, 13))), codec.note_off(p)]
        out.append(np.asarray(toks, np.int64))
    return out


def distribution(model: KneserNeyModel | UnigramModel, context: list[int]) -> np.ndarray:
    """P(. | context) over the vocabulary, as the model scores each next token after it."""
    pieces = [np.asarray([codec.START, *context, token], np.int64) for token in range(codec.VOCAB_SIZE)]
    return np.exp2(model.log2_probs(pieces).reshape(codec.VOCAB_SIZE, -1)[:, -1])


def test_ngram_distributions_are_normalised() -> None:
    train = _pieces(100, 0)
    for model in (KneserNeyModel(train, 5), KneserNeyModel(train, 2), UnigramModel(train)):
        for ctx in ([], [codec.note_on(60)], [1, 2, 3, 4, 5], [codec.START, codec.time_shift(10)]):
            d = distribution(model, ctx)
            assert d.shape == (codec.VOCAB_SIZE,) and (d > 0).all()
            assert d.sum() == pytest.approx(1.0, abs=1e-9)


def test_kneser_ney_beats_unigram_on_structured_data() -> None:
    train, test = _pieces(300, 0), _pieces(50, 1)
    kn = score_pieces(KneserNeyModel(train, 5), test)
    uni = score_pieces(UnigramModel(train), test)
    assert kn.events == uni.events == sum(len(p) - 1 for p in test)
    assert kn.bits_per_event < uni.bits_per_event / 2


def test_model_bits_matches_direct_forward() -> None:
    torch.manual_seed(0)
    model = build_model("transformer", {"d_model": 32, "n_layers": 2, "n_heads": 2, "d_ff": 64, "window": 16})
    pieces = _pieces(5, 2)
    bits, n = model_bits(model, pieces, batch_size=2, chunk=7)  # padding + chunking
    ref = 0.0
    with torch.no_grad():
        for p in pieces:
            x = torch.from_numpy(p)[None]
            logp = torch.log_softmax(model.eval()(x[:, :-1]), -1)
            ref -= float(logp.gather(-1, x[:, 1:, None]).sum()) / np.log(2)
    assert n == sum(len(p) - 1 for p in pieces)
    assert bits == pytest.approx(ref, rel=1e-4)


@pytest.mark.parametrize("arch", ["gru", "transformer"])
def test_checkpoint_round_trip(tmp_path: Path, arch: str) -> None:
    cfg = (
        {"hidden": 16}
        if arch == "gru"
        else {"d_model": 16, "n_layers": 1, "n_heads": 2, "d_ff": 32, "window": 8}
    )
    model = build_model(arch, cfg).eval()
    save_checkpoint(tmp_path / "m.pt", model, {"steps": 3, "val_bits_per_event": 1.5})
    loaded, info = load_checkpoint(tmp_path / "m.pt", "cpu")
    assert info["config"]["arch"] == arch and info["train_info"]["steps"] == 3
    x = torch.randint(0, codec.VOCAB_SIZE, (1, 12))
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))
    raw = torch.load(tmp_path / "m.pt", weights_only=True)
    assert set(raw) == {"config", "model", "vocab", "train_info"}


def test_checkpoint_errors(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "bad.pt")
    with pytest.raises(CheckpointError):
        build_model("lstm")


def _write_prime(path: Path) -> list[Note]:
    # C major arpeggios, 4 notes per second
    notes = [Note(i * 0.25, i * 0.25 + 0.2, [60, 64, 67, 72][i % 4], 80) for i in range(32)]
    notes_to_midi(notes).write(str(path))
    return notes


def test_generate_continuation_and_evaluate_midi(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model("gru", {"hidden": 16}).eval()
    _write_prime(tmp_path / "prime.mid")
    c = Constraints(pitch_low=48, pitch_high=84, max_polyphony=3)
    pm = generate_continuation(
        model, tmp_path / "prime.mid", seconds=5.0, temperature=1.0, top_p=0.95, seed=1, constraints=c
    )
    names = [i.name for i in pm.instruments]
    assert names == ["prime", "continuation"]
    cont = pm.instruments[1].notes
    assert all(48 <= n.pitch <= 84 for n in cont)
    assert all(7.9 <= n.start and n.end <= 7.95 + 5.0 + 1e-6 for n in cont)
    again = generate_continuation(model, tmp_path / "prime.mid", seconds=5.0, seed=1, constraints=c)
    assert [(n.pitch, n.start) for n in again.instruments[1].notes] == [(n.pitch, n.start) for n in cont]
    res = evaluate_midi_files([tmp_path / "prime.mid"], model)
    assert res["model"] == "gru" and res["events"] > 64 and res["files"] == 1
    assert 0 < res["bits_per_event"] < 20


def test_metrics() -> None:
    c_major = [
        Note(i * 0.5, i * 0.5 + 0.5, p, 80)
        for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60])
    ]
    a_minor = [
        Note(i * 0.5, i * 0.5 + 0.5, p, 80)
        for i, p in enumerate([57, 59, 60, 62, 64, 65, 68, 69, 64, 60, 57])
    ]
    k = estimate_key(c_major)
    assert k is not None and k.name == "C major"
    k = estimate_key(a_minor)
    assert k is not None and k.name == "A minor"
    assert estimate_key([]) is None
    assert pitch_class_correlation(c_major, c_major) == pytest.approx(1.0)
    assert pitch_class_correlation(c_major, [Note(0, 1, 61, 80), Note(1, 2, 66, 80)]) < 0.2
    assert notes_per_second(c_major) == pytest.approx(11 / 5.5)
    d = compare(c_major, c_major)
    assert d["prime_key"] == d["continuation_key"] == "C major"


def test_half_checkpoint_loads_into_float32(tmp_path: Path) -> None:
    model = build_model(
        "transformer", {"d_model": 16, "n_layers": 1, "n_heads": 2, "d_ff": 32, "window": 8}
    ).eval()
    save_checkpoint(tmp_path / "h.pt", model, half=True)
    loaded, _ = load_checkpoint(tmp_path / "h.pt")
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    assert loaded.head.weight is loaded.embed.weight  # tying survives
    x = torch.randint(0, codec.VOCAB_SIZE, (1, 12))
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), atol=2e-2, rtol=2e-2)
