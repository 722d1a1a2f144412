"""The harmony model's shapes and state, its checkpoint, and the live choice under
constraints (liveai.models.voicer): key, register, voices, voice leading, above."""

from __future__ import annotations

import numpy as np
import torch
from fakes import tiny_harmony

from liveai.models import harmony as hm
from liveai.models.checkpoint import load_checkpoint, save_checkpoint
from liveai.models.voicer import LEADING, PARALLELS, Ask, Voicer
from liveai.music.scales import Scale
from liveai.music.voicing import consonant, fold, motion, parallels, voicing_of

C_MAJOR = frozenset(Scale("C", "major").pitch_classes)


def inputs(batch: int, steps: int | None = None) -> torch.Tensor:
    rng = np.random.default_rng(0)
    shape = (batch,) if steps is None else (batch, steps)
    cols = [rng.integers(0, n, shape) for n in hm.SIZES] + [rng.integers(0, 10, shape)]
    return torch.from_numpy(np.stack(cols, axis=-1))


def test_shapes_and_state_a_step_is_the_sequence_one_at_a_time():
    model = tiny_harmony()
    x = inputs(3, 5)  # (B, T, F)
    full = model(x)
    assert full.shape == (3, 5, len(model.config.voicings))
    state = model.init_state(3)
    assert state.h.shape == (1, 3, 16) and state.batch_size == 3
    for t in range(5):
        logits, state = model.step(x[:, t], state)
        assert logits.shape == (3, len(model.config.voicings))
        torch.testing.assert_close(logits, full[:, t], atol=1e-5, rtol=1e-5)
    # a session's state is its own: row 1 stepped alone gives row 1's logits
    alone, _ = model.step(x[1:2, 0], model.init_state(1))
    torch.testing.assert_close(alone[0], full[1, 0], atol=1e-5, rtol=1e-5)


def test_checkpoint_round_trip_keeps_the_voicings(tmp_path):
    model = tiny_harmony()
    save_checkpoint(tmp_path / "h.pt", model)
    loaded, info = load_checkpoint(tmp_path / "h.pt", archs=("harmony",))
    assert loaded.config.voicings == model.config.voicings
    x = inputs(2, 4)
    torch.testing.assert_close(loaded(x), model(x))


def test_voicing_of_real_pitches_folds_keeps_the_bass_and_drops_the_dissonance():
    # E5 over C3, G3, D4 (a 9th chord's D): the D is a second under E, dropped; C and G kept, folded
    assert voicing_of(76, [48, 55, 62]) == (21, 16)  # G3 and C4 (C3 up an octave)
    assert voicing_of(76, [48, 55, 62], voices=1) == (16,)  # the bass first
    assert fold(31) == 19 and fold(0) == 12 and fold(-3) == 9
    assert consonant([76, 60, 67]) and not consonant([76, 74])
    assert motion([60, 64], [60, 65]) == 0.5 and parallels([67, 60], [69, 62]) == 1


def voice(voicer: Voicer, melody: int, **kw) -> list[int] | None:
    ask = {"voices": 2, "scale": C_MAJOR, "low": 36, "high": 96, **kw}
    return voicer.voice(Ask(melody, **ask))


def test_key_register_and_voices_are_masks_on_the_choice():
    voicer = Voicer(tiny_harmony(), np.random.default_rng(0))
    answered = {}
    for voices in (1, 2, 3):
        for melody in range(60, 80):
            chosen = voice(
                voicer, melody, voices=voices, scale=None if melody % 2 else C_MAJOR, low=50, high=70
            )
            if chosen is None:
                continue
            answered[voices] = answered.get(voices, 0) + 1
            assert len(chosen) == voices and all(50 <= p <= 70 and p < melody for p in chosen)
            assert melody % 2 or all(p % 12 in C_MAJOR for p in chosen)
    # the notes where some voicing of that size fits (tiny_harmony has one 1-voice and one
    # 3-voice voicing): the asserts above ran on these
    assert answered == {1: 16, 2: 18, 3: 8}
    # nothing allowed (a register above the melody): None, and the caller's rule answers
    assert voice(voicer, 60, low=70, high=90) is None


def test_chosen_voicings_are_never_clusters_even_untrained():
    voicer = Voicer(tiny_harmony(voicings=((7, 3), (2, 1), (1,), (9, 5))), np.random.default_rng(1))
    for melody in [72, 74, 76, 77, 79, 81, 83, 84] * 5:
        chosen = voice(voicer, melody, scale=None)
        # (2, 1) is in the vocabulary, never chosen
        assert chosen is not None and consonant([melody, *chosen])


def test_voice_leading_takes_the_chord_that_moves_least_on_a_fixed_progression():
    voicings = ((7, 3), (12, 8), (16, 12), (19, 15), (9, 5), (8, 5))
    model = tiny_harmony(voicings=voicings)
    torch.nn.init.zeros_(model.head.weight)
    torch.nn.init.zeros_(model.head.bias)  # the model has no preference: voice leading decides
    voicer = Voicer(model, np.random.default_rng(0))
    before = [72, *voice(voicer, 72, scale=None, temperature=0.01)]
    for melody in (76, 79, 77, 74, 72):  # C5 E5 G5 F5 D5 C5
        chosen = voice(voicer, melody, scale=None, temperature=0.01)
        options = [sorted(melody - i for i in v) for v in voicings]
        costs = [
            LEADING * motion(before[1:], o) + PARALLELS * parallels(before, [melody, *o]) for o in options
        ]
        assert chosen in [o for o, c in zip(options, costs) if c == min(costs)]
        before = [melody, *chosen]


def test_of_two_chords_moving_alike_the_one_without_parallel_fifths_and_octaves_wins():
    # C5 over C4 F4, then D5: D4 G4 moves each voice a tone in parallel octaves and fifths
    # with the melody; A3 F#4 moves as much (3 + 1) with none
    model = tiny_harmony(voicings=((12, 7), (17, 8)))
    torch.nn.init.zeros_(model.head.weight)
    torch.nn.init.zeros_(model.head.bias)
    for seed in range(10):
        voicer = Voicer(model, np.random.default_rng(seed))
        voicer.chord = [72, 60, 65]
        assert voice(voicer, 74, scale=None, temperature=0.01) == [57, 66], seed


def test_above_lets_a_voice_cross_the_melody_where_it_moves_less():
    model = tiny_harmony(voicings=((3,), (8,)))
    below, above = Voicer(model, np.random.default_rng(0)), Voicer(model, np.random.default_rng(0))
    for v, up in ((below, False), (above, True)):
        assert voice(v, 72, voices=1, scale=frozenset({9}), above=up) == [69]  # C5 over A4
    # the melody drops to E4: under it the voice must leap to C#4 or G#3; above, G#4 is a step from A4
    assert voice(below, 64, voices=1, scale=None, temperature=0.01) in ([61], [56])
    assert voice(above, 64, voices=1, scale=None, above=True, temperature=0.01) == [68]


def test_above_never_puts_two_voices_on_one_pitch_and_keeps_them_lowest_first():
    # octave pairs, as 59 of the shipped voicings hold: moving the lower voice up lands on the upper
    voicings = ((16, 9, 4), (15, 3), (12, 7, 3), (19, 7), (24, 12, 7), (9, 5), (8, 5, 3), (12, 5))
    voicer = Voicer(tiny_harmony(voicings=voicings), np.random.default_rng(0))
    rng = np.random.default_rng(1)
    answered = 0
    for melody in rng.integers(60, 84, 400):
        voices = int(rng.integers(2, 4))
        ask = Ask(int(melody), voices=voices, above=True, low=36, high=96)
        ok, pitches = voicer.allowed(ask, voicer.groups[voices][1])
        assert all(
            sorted(row) == list(row) for row in pitches[ok].tolist()
        )  # the cost pairs voices lowest first
        chosen = voice(voicer, int(melody), voices=voices, scale=None, above=True)
        if chosen is not None:
            answered += 1
            assert len(set(chosen)) == voices and int(melody) not in chosen, (melody, chosen)
    assert answered > 300


def test_building_or_resetting_a_voicer_runs_no_model_call():
    # the behaviour builds its voicer on the event loop at every mode switch: the state is made
    # at the first chord, on the worker
    model = tiny_harmony()
    calls = []
    init_state = model.init_state
    model.init_state = lambda *a, **kw: calls.append(a) or init_state(*a, **kw)
    voicer = Voicer(model, np.random.default_rng(0))
    voicer.reset()
    assert calls == []
    voice(voicer, 72)
    voice(voicer, 74)
    assert len(calls) == 1


def test_one_notes_features_are_the_arrays_features():
    from liveai.models.harmony import feature_row, features

    rng = np.random.default_rng(0)
    for _ in range(300):
        melody, before = int(rng.integers(0, 128)), int(rng.integers(-1, 128))
        tonic, minor, beat = int(rng.integers(0, 12)), bool(rng.integers(0, 2)), int(rng.integers(0, 5))
        voices, previous = int(rng.integers(1, 4)), int(rng.integers(0, 50))
        whole = features(
            np.array([melody]),
            tonic,
            minor,
            np.array([before]),
            np.array([beat]),
            voices,
            np.array([previous]),
        )
        assert feature_row(melody, tonic, minor, before, beat, voices, previous) == whole[0].tolist()
