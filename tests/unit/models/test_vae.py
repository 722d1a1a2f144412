"""The morph model's vocabulary (top voice on a 16th grid) and the VAE's shapes, decoding and slerp."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from liveai.data.corpus import SCORE, Piece
from liveai.data.melodies import piece_melodies, window_starts
from liveai.models import melody
from liveai.models.checkpoint import CheckpointError, build_model, load_checkpoint, save_checkpoint
from liveai.models.vae import MelodyVAE, VAEConfig, fewest_changes, kl_per_dim, slerp
from liveai.music.note import Note

H, R = melody.HOLD, melody.REST


def test_top_voice_keeps_the_highest_note_and_cuts_at_the_next():
    # a C major chord held for a quarter, then E alone: the melody is G then E
    tokens = melody.top_voice([0, 0, 0, 4], [4, 4, 4, 6], [60, 64, 67, 64], steps=8)
    assert tokens == [67, H, H, H, 64, H, R, R]


def test_a_lower_note_under_a_held_one_is_dropped_and_a_higher_one_cuts_it():
    tokens = melody.top_voice([0, 2, 4], [8, 3, 6], [72, 60, 76], steps=8)
    assert tokens == [72, H, H, H, 76, H, R, R]  # 60 under 72 dropped; 76 cuts 72, nothing resumes


def test_a_repeated_pitch_is_struck_again():
    assert melody.top_voice([0, 2], [4, 4], [60, 60], steps=4) == [60, H, 60, H]


def test_timed_notes_round_to_the_grid_and_back():
    step = 0.125  # 16ths at 120 BPM
    played = [Note(0.01, 0.24, 60, 90), Note(0.26, 0.74, 62, 90), Note(1.0, 1.1, 64, 90)]
    tokens = melody.from_notes(played, origin=0.0, step_s=step, steps=12)
    assert tokens == [60, H, 62, H, H, H, R, R, 64, R, R, R]
    notes = melody.to_notes(tokens, origin=10.0, step_s=step)
    assert [(n.pitch, n.start, n.end) for n in notes] == [
        (60, 10.0, 10.25),
        (62, 10.25, 10.75),
        (64, 11.0, 11.125),
    ]


def test_a_hold_after_a_rest_is_silence():
    assert melody.to_notes([R, H, 60, H], 0.0, 0.1) == [Note(0.2, 0.4, 60, 90)]


def test_windows_start_on_bar_lines_of_4_4_only():
    assert window_starts([0.0, 4.0, 8.0, 12.0]) == [0.0, 4.0]
    assert window_starts([0.0, 3.0, 6.0, 9.0, 12.0]) == []  # 3/4
    assert window_starts([1.0, 3.0, 5.0, 7.0, 9.0]) == [1.0]  # 2/4 with a pickup: four bars


def test_score_windows_are_two_bars_of_its_top_voice():
    # eight bars of quarter notes (beat strength 1 on each downbeat), a bass note under each downbeat
    rows = []
    for q in range(32):
        rows.append((float(q), 1.0, 1.0 if q % 4 == 0 else 0.25, 60 + q % 8))
        if q % 4 == 0:
            rows.append((float(q), 4.0, 1.0, 40))
    piece = Piece("t#0", SCORE, np.array(rows, np.float64))
    windows = piece_melodies(piece)
    assert len(windows) == 7  # every bar line with two whole bars after it
    assert windows[0][:8] == [60, H, H, H, 61, H, H, H]
    assert all(len(w) == melody.STEPS for w in windows)


@pytest.fixture(scope="module")
def vae() -> MelodyVAE:
    torch.manual_seed(0)
    return MelodyVAE(
        VAEConfig(embed=16, encoder_hidden=32, latent=8, decoder_hidden=32, decoder_layers=2)
    ).eval()


def test_shapes(vae):
    x = torch.randint(0, melody.VOCAB_SIZE, (3, melody.STEPS))
    mu, sigma = vae.encode(x)
    assert mu.shape == sigma.shape == (3, 8) and bool((sigma > 0).all())
    assert vae.decode_logits(mu, x).shape == (3, melody.STEPS, melody.VOCAB_SIZE)
    logits, mu2, _ = vae(x)
    assert logits.shape == (3, melody.STEPS, melody.VOCAB_SIZE) and mu2.shape == (3, 8)
    assert kl_per_dim(mu, sigma).shape == (3, 8)


def test_greedy_decoding_follows_the_teacher_forced_logits_and_never_holds_silence(vae):
    z = torch.randn(4, 8)
    out = vae.decode(z)
    assert out.shape == (4, melody.STEPS)
    with torch.no_grad():
        logits = vae.decode_logits(z, out).clone()
    for row_tokens, row_logits in zip(out, logits):
        sounding = False
        for token, step_logits in zip(row_tokens.tolist(), row_logits):
            if not sounding:
                step_logits[melody.HOLD] = -float("inf")
            assert token == int(step_logits.argmax())
            assert sounding or token != melody.HOLD
            sounding = token != melody.REST


def test_a_path_with_no_lean_is_greedy_decoding(vae):
    z = torch.randn(5, 8)
    start, end = [60, H] * 16, [72, R] * 16
    assert torch.equal(vae.decode_path(z, start, end, 0.0), vae.decode(z))


def test_a_path_changes_each_step_once_when_the_model_allows_anything(vae):
    start, end = [60, H, 62, H, R, R, 64, H] * 4, [72, H, H, H, 71, H, 69, R] * 4
    z = torch.randn(5, 8)
    far = vae.decode_path(z, start, end, 1e9).tolist()  # any step the model finds possible is allowed
    for t in range(32):
        if H in (start[t], end[t]):
            continue  # a hold may be impossible after a point's silence
        column = [start[t], *(row[t] for row in far), end[t]]
        changes = sum(a != b for a, b in zip(column, column[1:]))
        assert changes == (start[t] != end[t]), (t, column)


def test_a_path_keeps_each_step_within_the_lean_of_the_best(vae):
    start, end = [60, H, 62, H, R, R, 64, H] * 4, [72, H, H, H, 71, H, 69, R] * 4
    z = torch.randn(5, 8)
    some = vae.decode_path(z, start, end, 2.0)
    with torch.no_grad():
        logp = torch.log_softmax(vae.decode_logits(z, some), -1)  # the decode's own prefixes
    for row, row_logp in zip(some.tolist(), logp):
        sounding = False
        for token, step in zip(row, row_logp):
            if not sounding:
                step[melody.HOLD] = -float("inf")
            assert step[token] >= step.max() - 2.0 - 1e-5
            sounding = token != melody.REST


def test_fewest_changes_switches_once_where_the_model_turns():
    """Greedy picks would go 0 1 0 1 1; within the lean one switch suffices, and it
    comes where the model's preference turns for good (the likeliest single switch)."""
    logp = np.log(
        np.array(
            [[0.6, 0.4, 1e-9], [0.45, 0.55, 1e-9], [0.58, 0.42, 1e-9], [0.3, 0.7, 1e-9], [0.2, 0.8, 1e-9]]
        )
    )
    assert fewest_changes(logp, np.full(5, 1.0), 0, 1).tolist() == [0, 0, 0, 1, 1]
    assert fewest_changes(logp, np.zeros(5), 0, 1).tolist() == [0, 1, 0, 1, 1]  # no lean: greedy
    assert fewest_changes(logp, np.full(5, 2.0), 0, 0).tolist() == [0, 0, 0, 0, 0]  # a to a: nothing moves
    forbidden = logp.copy()
    forbidden[2, 0] = -np.inf  # token 0 impossible at the middle point: two changes either way,
    assert fewest_changes(forbidden, np.full(5, 1e9), 0, 0).tolist() == [0, 1, 1, 1, 1]  # the likelier


def test_a_path_never_holds_silence_even_when_its_anchor_does(vae):
    start = [R, H] * 16  # not a melody: a hold after a rest
    path = vae.decode_path(torch.randn(3, 8), start, start, 1e9).tolist()
    for row in path:
        assert all(not (before == R and token == H) for before, token in zip(row, row[1:]))
        assert row[0] != H


def test_slerp_grid_has_its_endpoints_and_the_norm_between():
    z0, z1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0])
    grid = slerp(z0, z1, torch.linspace(0, 1, 17))
    assert grid.shape == (17, 2)
    assert torch.allclose(grid[0], z0, atol=1e-6) and torch.allclose(grid[-1], z1, atol=1e-6)
    angles = torch.atan2(grid[:, 1], grid[:, 0])
    assert bool((angles.diff() > 0).all())  # moves round monotonically
    same = slerp(z0, z0 * 3, torch.tensor([0.5]))
    assert torch.allclose(same[0], z0 * 2)  # parallel endpoints: a straight line
    opposite = slerp(z0, -z0, torch.tensor([0.25]))
    assert torch.isfinite(opposite).all() and torch.allclose(opposite[0], z0 * 0.5)


def test_the_vae_checkpoint_round_trips_and_is_refused_as_a_continuation_model(tmp_path, vae):
    save_checkpoint(tmp_path / "vae.pt", vae, {"steps": 1})
    loaded, info = load_checkpoint(tmp_path / "vae.pt", "cpu", archs=("vae",))
    assert info["vocab"] == melody.describe_vocab()
    z = torch.randn(2, 8)
    assert torch.equal(loaded.decode(z), vae.decode(z))
    with pytest.raises(CheckpointError, match="a vae model"):
        load_checkpoint(tmp_path / "vae.pt", "cpu")
    assert isinstance(build_model("vae", {"latent": 8}), MelodyVAE)
