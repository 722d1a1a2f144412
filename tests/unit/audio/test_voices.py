"""Voices: allocation, stealing into a fading ghost, envelopes and the excitation they
drive without a click, and sample-accurate onsets."""

from __future__ import annotations

import torch

from liveai.audio.voices import SampleClock, Voices, midi_to_hz
from liveai.models.synth import harmonic_excitation, oscillators

SR = 48_000


def test_a_free_voice_then_the_oldest_is_stolen_and_a_restrike_keeps_its_voice():
    v = Voices(polyphony=2, sample_rate=SR)
    assert v.note_on(60, 100, at=0) == 0 and v.note_on(64, 100, at=10) == 1
    assert v.note_on(60, 80, at=20) == 0  # a re-strike: the same voice, no steal
    assert v.stolen == 0
    assert v.note_on(67, 100, at=30) == 1  # the oldest onset is 64's (60 was struck again at 20)
    assert v.stolen == 1 and v.take_moves() == [(1, 2)]
    v.render(SR)  # a second later the ghost has faded
    assert v.sounding() == 2 and all(g.pitch == -1 for g in v.ghosts)


def test_released_voices_become_free():
    v = Voices(polyphony=1, sample_rate=SR, release_s=0.01)
    v.note_on(60, 100, at=0)
    v.render(100)
    v.note_off(60)
    v.render(SR // 100 + 1)
    assert v.sounding() == 0 and v.note_on(62, 100, at=600) == 0 and v.stolen == 0


def play(events, n, polyphony=2):
    """Render n samples, applying (sample, kind, pitch) events at their samples, as the
    render thread does: the excitation of the voices and ghosts, phase-continuous."""
    v = Voices(polyphony=polyphony, sample_rate=SR)
    osc = oscillators(1, 2 * polyphony)
    out, at = [], 0
    for sample, kind, pitch in sorted(events) + [(n, "end", 0)]:
        if sample > at:
            f0, env = v.render(sample - at)
            audio, osc = harmonic_excitation(f0, env, osc, SR, harmonics=1)
            out.append(audio)
            at = sample
        if kind == "on":
            v.note_on(pitch, 127, sample)
        elif kind == "off":
            v.note_off(pitch)
        for src, dst in v.take_moves():
            osc.phase[:, dst] = osc.phase[:, src]
    return torch.cat(out, dim=-1)[0], v


def test_no_click_at_note_off_or_steal():
    """The largest sample-to-sample jump stays within what a sine at full level and an
    envelope at its fastest can make: no step anywhere."""
    events = [(0, "on", 69), (2400, "on", 72), (4800, "on", 76),  # the third steals 69
              (7000, "off", 72), (7001, "on", 79), (9000, "off", 76), (9000, "off", 79)]
    audio, v = play(events, 14_000)
    assert v.stolen >= 1
    slope = 2 * torch.pi * midi_to_hz(79) / SR  # a unit sine's largest step at the highest pitch
    bound = 3 * (slope + v.max_step)  # three voices (two and a fading ghost) at most
    assert audio.diff().abs().max().item() <= bound
    assert audio[-100:].abs().max().item() == 0.0, "everything ends"


def test_a_stolen_note_without_its_ghost_would_click():
    """The same bound fails when a voice is cut dead (the test can see a click)."""
    v = Voices(polyphony=1, sample_rate=SR)
    osc = oscillators(1, 2)
    v.note_on(69, 127, 0)
    f0, env = v.render(2000)
    a, osc = harmonic_excitation(f0, env, osc, SR, harmonics=1)
    f0, env = v.render(1)
    cut = torch.zeros_like(env)  # what stopping dead would do
    b, _ = harmonic_excitation(f0, cut, osc, SR, harmonics=1)
    jump = (b[0, 0] - a[0, -1]).abs().item()
    assert jump > 2 * (2 * torch.pi * midi_to_hz(69) / SR + v.max_step)


def test_onsets_land_on_their_sample():
    clock = SampleClock(start=100.0, sample_rate=SR)
    assert clock.sample_of(100.5) == 24_000
    assert clock.offset_in(100.5, block_start=23_990, block_len=256) == 10
    assert clock.offset_in(100.5, block_start=24_001, block_len=256) == 0 and clock.late == 1
    assert clock.offset_in(101.0, block_start=23_990, block_len=256) is None
    audio, _ = play([(1234, "on", 69)], 3000, polyphony=1)
    assert audio[:1235].abs().max().item() == 0.0 and audio[1236:1300].abs().max().item() > 0.0
