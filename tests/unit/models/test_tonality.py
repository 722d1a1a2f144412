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
    assert key_pitch_classes(Key(C, "major", 0.9), frozenset({C, 10})) == frozenset({0, 2, 4, 5, 7, 9, 11})


def pitch_class_lean(balance: KeyBalance) -> np.ndarray:
    return balance.offsets()[codec.NOTE_ON_OFFSET:codec.NOTE_ON_OFFSET + 12].numpy()


def test_balance_leans_on_the_tonic_and_keeps_note_mass():
    balance = KeyBalance(A, "minor", pull=2.0)
    lean = pitch_class_lean(balance)
    assert int(np.argmax(lean)) == A and lean[C] > lean[11]  # the tonic, then the third over the second
    assert abs(float(np.log(np.mean(np.exp(lean))))) < 1e-5  # as many notes as without it
    offsets = balance.offsets()
    assert torch.all(offsets[codec.NOTE_OFF_OFFSET:] == 0)  # time and velocity untouched
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
