"""Keeping answers in the player's key: the scale followed, the degrees balanced."""

from __future__ import annotations

import numpy as np
import torch

from liveai.models import codec
from liveai.models.tonality import KeyBalance, key_pitch_classes
from liveai.music.tonality import Key

A, C, E, G, G_SHARP = 9, 0, 4, 7, 8


def test_minor_answers_use_the_seventh_the_player_used():
    a_minor = Key(A, "minor", 0.9)
    both = key_pitch_classes(a_minor)
    assert both is not None and {G, G_SHARP} <= both
    harmonic = key_pitch_classes(a_minor, frozenset({A, C, E, G_SHARP}))
    assert harmonic is not None and G_SHARP in harmonic and G not in harmonic
    natural = key_pitch_classes(a_minor, frozenset({A, C, G}))
    assert natural is not None and G in natural and G_SHARP not in natural
    assert key_pitch_classes(Key(C, "major", 0.9), frozenset({C, E})) == frozenset({0, 2, 4, 5, 7, 9, 11})


def test_the_modes_a_player_implies_are_kept():
    d_dorian = frozenset({2, 4, 5, 7, 9, 11, 0})  # D minor with B, not B flat
    assert key_pitch_classes(Key(2, "minor", 0.8), d_dorian) == d_dorian
    c_mixolydian = frozenset({0, 2, 4, 5, 7, 9, 10})
    assert key_pitch_classes(Key(C, "major", 0.8), c_mixolydian) == c_mixolydian
    f_lydian = frozenset({5, 7, 9, 11, 0, 2, 4})
    assert key_pitch_classes(Key(5, "major", 0.8), f_lydian) == f_lydian


def pitch_class_lean(balance: KeyBalance) -> np.ndarray:
    return balance.offsets()[codec.NOTE_ON_OFFSET : codec.NOTE_ON_OFFSET + 12].numpy()


def test_balance_leans_on_the_tonic_and_keeps_note_mass():
    balance = KeyBalance(A, "minor", pull=2.0)
    lean = pitch_class_lean(balance)
    assert int(np.argmax(lean)) == A and lean[C] > lean[11]  # the tonic, then the third over the second
    assert abs(float(np.log(np.mean(np.exp(lean))))) < 1e-5  # as many notes as without it
    offsets = balance.offsets()
    assert torch.all(offsets[codec.NOTE_OFF_OFFSET :] == 0)  # time and velocity untouched
    assert offsets[codec.note_on(A + 12)] == offsets[codec.note_on(A + 24)]  # every octave alike


def test_balance_pushes_back_a_degree_the_answer_overuses():
    balance = KeyBalance(A, "minor", pull=2.0)
    before = pitch_class_lean(balance).copy()
    for _ in range(12):
        balance.observe(codec.note_on(57))  # A, again and again
    after = pitch_class_lean(balance)
    assert after[A] < before[A] and int(np.argmax(after)) != A
    balance.observe(codec.time_shift(10))  # only notes count
    assert np.array_equal(pitch_class_lean(balance), after)


def test_the_latest_phrase_decides_the_key():
    from liveai.music.note import Note
    from liveai.music.tonality import estimate_key, phrase_emphasis

    c_major = [
        Note(i * 0.5, i * 0.5 + 0.45, p, 80) for i, p in enumerate([60, 64, 67, 72, 67, 64, 62, 60] * 2)
    ]
    e_major = [
        Note(10 + i * 0.5, 10.45 + i * 0.5, p, 80) for i, p in enumerate([64, 68, 71, 76, 71, 68, 66, 64])
    ]
    notes = c_major + e_major
    assert estimate_key(notes).name != "E major"  # all notes alike: the phrase before blurs it
    weights = phrase_emphasis(notes, phrase_start=10.0)
    # the final note rests on the tonic
    assert weights[0] == 0.2 and weights[-1] == 2.0 and weights[-2] == 1.0
    assert estimate_key(notes, weights).name == "E major"
