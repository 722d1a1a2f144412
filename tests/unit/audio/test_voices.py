"""Voices: allocation, stealing into a fading ghost, envelopes and the excitation they
drive without a click (the onsets' timing is tested in test_engine_timing.py)."""

from __future__ import annotations

import numpy as np
import torch

from liveai.audio.excitation import cycles, harmonic_waves
from liveai.audio.voices import Voices, midi_to_hz

SR = 48_000


def test_a_free_voice_then_the_oldest_is_stolen_and_a_restrike_keeps_its_voice():
    v = Voices(polyphony=2, sample_rate=SR)
    assert v.note_on(60, 100, at=0) == 0 and v.note_on(64, 100, at=10) == 1
    assert v.note_on(60, 80, at=20) == 0  # a re-strike: the same voice, no steal
    assert v.stolen == 0
    assert v.note_on(67, 100, at=30) == 1  # the oldest onset is 64's (60 was struck again at 20)
    assert v.stolen == 1 and v.ghosts[0].pitch == 64  # 64 fades on in a ghost
    v.render(SR)  # a second later the ghost has faded
    assert v.sounding() == 2 and all(g.pitch == -1 for g in v.ghosts)


def test_velocity_zero_is_a_note_off():
    v = Voices(polyphony=1, sample_rate=SR)
    v.note_on(60, 100, at=0)
    assert v.note_on(60, 0, at=10) is None and v.voices[0].target == 0.0 and v.stolen == 0


def test_released_voices_become_free():
    v = Voices(polyphony=1, sample_rate=SR, release_s=0.01)
    v.note_on(60, 100, at=0)
    v.render(100)
    v.note_off(60)
    v.render(SR // 100 + 1)
    assert v.sounding() == 0 and v.note_on(62, 100, at=600) == 0 and v.stolen == 0


def play(events, n, polyphony=2):
    """Render n samples, applying (sample, kind, pitch) events at their samples, as the
    render process does: the excitation of the voices and ghosts, phase-continuous."""
    v = Voices(polyphony=polyphony, sample_rate=SR)
    out, at = [], 0
    for sample, kind, pitch in sorted(events) + [(n, "end", 0)]:
        if sample > at:
            f0, env, phase = v.render(sample - at)
            out.append(
                (harmonic_waves(cycles(phase), f0.astype(np.float32), SR, harmonics=1) * env).sum(axis=0)
            )
            at = sample
        if kind == "on":
            v.note_on(pitch, 127, sample)
        elif kind == "off":
            v.note_off(pitch)
    return torch.from_numpy(np.concatenate(out)), v


CLICK_TEST_EVENTS = [
    (0, "on", 69),
    (2400, "on", 72),
    (4800, "on", 76),  # the third steals 69
    (7000, "off", 72),
    (7001, "on", 79),  # 79 steals 76, mid-cycle
    (8000, "off", 79),
    (8100, "on", 79),  # struck again while it fades
    (9000, "off", 76),
    (9000, "off", 79),
]


def max_step(v: Voices) -> float:
    """The most an envelope moves in one sample."""
    return 1.0 / min(v.attack, v.release, v.steal)


def click_bound(v: Voices) -> float:
    slope = 2 * torch.pi * midi_to_hz(79) / SR  # a unit sine's largest step at the highest pitch
    return 3 * (slope + max_step(v))  # three voices (two and a fading ghost) at most


def test_no_click_at_note_off_or_steal():
    """The largest sample-to-sample jump stays within what a sine at full level and an
    envelope at its fastest can make: no step anywhere."""
    audio, v = play(CLICK_TEST_EVENTS, 14_000)
    assert v.stolen >= 2
    assert audio.diff().abs().max().item() <= click_bound(v)
    assert audio[-100:].abs().max().item() == 0.0, "everything ends"


def test_a_steal_without_its_ghost_breaks_the_bound(monkeypatch):
    """The same run with the ghost taken away (a stolen note cut dead) fails the bound:
    the test can see a click."""
    monkeypatch.setattr(Voices, "_fade_into_ghost", lambda self, index: None)
    audio, v = play(CLICK_TEST_EVENTS, 14_000)
    assert audio.diff().abs().max().item() > click_bound(v)


def test_a_note_struck_again_while_it_fades_rises_from_where_it_is():
    """One voice: 69, released, struck again 100 samples later. It must not play twice
    (its fading ghost and itself in phase: a jump of almost 1)."""
    audio, v = play(
        [(0, "on", 69), (2000, "off", 69), (2100, "on", 69), (5000, "off", 69)], 9000, polyphony=1
    )
    assert v.stolen == 0
    assert audio.diff().abs().max().item() <= 2 * torch.pi * midi_to_hz(69) / SR + max_step(v)


def test_a_releasing_voice_is_stolen_before_the_oldest_held_one():
    v = Voices(polyphony=2, sample_rate=SR)
    v.note_on(60, 100, at=0)
    v.note_on(64, 100, at=10)
    v.note_off(64)  # the newer note is already fading
    assert v.note_on(67, 100, at=20) == 1  # it gives way, not the oldest, still held
    assert v.voices[0].pitch == 60 and v.voices[0].target > 0


def test_the_sustain_pedal_holds_released_notes_until_it_comes_up():
    v = Voices(polyphony=3, sample_rate=SR)
    v.note_on(60, 100, at=0)
    v.sustain(True)
    v.note_on(64, 100, at=10)
    v.note_off(60)  # pressed before and after the pedal: both held by it
    v.note_off(64)
    v.note_on(67, 100, at=20)  # still held by its key
    v.render(SR // 10)
    assert [voice.target > 0 for voice in v.voices] == [True, True, True]
    v.note_on(64, 90, at=30)  # struck again under the pedal: its key holds it now
    v.sustain(False)
    assert [voice.pitch for voice in v.voices if voice.target > 0] == [64, 67]
    v.note_off(64)
    assert [voice.pitch for voice in v.voices if voice.target > 0] == [67]  # the pedal is up


def test_all_notes_off_lifts_the_pedal_too():
    """A keyboard lost with its pedal down never sends it up: nothing may ring on."""
    v = Voices(polyphony=2, sample_rate=SR)
    v.sustain(True)
    v.note_on(60, 100, at=0)
    v.all_off()
    v.note_on(62, 100, at=10)
    v.note_off(62)
    assert all(voice.target == 0.0 for voice in v.voices)


def test_the_players_note_off_never_ends_liveais_note_of_the_same_pitch():
    """audio.play = "all": the player and liveai both sound A; each note is its own."""
    v = Voices(polyphony=4, sample_rate=SR)
    assert v.note_on(69, 100, at=0, layer=0) != v.note_on(69, 90, at=5, layer=1)
    v.render(100)
    v.note_off(69, layer=1)
    assert [(voice.layer, voice.target > 0) for voice in v.voices if voice.pitch == 69] == [
        (0, True),
        (1, False),
    ]
    v.sustain(True, layer=1)  # the player's pedal holds the player's notes only
    v.note_on(72, 100, at=10, layer=1)
    v.note_off(72, layer=1)
    v.note_off(69, layer=0)
    assert {(voice.pitch, voice.layer): voice.target > 0 for voice in v.voices if voice.pitch > 0} == {
        (69, 0): False,
        (69, 1): False,
        (72, 1): True,
    }
    v.all_off(layer=1)  # the player's keyboard lost: its notes end, its pedal is up
    assert not any(voice.target > 0 for voice in v.voices) and v.pedals == set()


def test_a_chords_notes_start_at_spread_phases_and_a_voice_keeps_its_own():
    """Struck together from silence, no two notes start within a tenth of a cycle of each
    other (phase-aligned, a chord's onset peaks at N times one note's); a re-struck note
    keeps its phase going."""
    v = Voices(polyphony=8, sample_rate=SR)
    for p in (60, 64, 67, 71, 72):
        v.note_on(p, 100, at=0)
    starts = sorted(x.phase for x in v.voices[:5])
    gaps = np.diff(starts + [starts[0] + 1.0])
    assert gaps.min() > 0.1, starts
    v.render(100)
    held = v.voices[0].phase
    v.note_on(60, 90, at=100)
    assert v.voices[0].phase == held
