"""The synth's measures and baselines (liveai.audio.quality): a sound is at distance ~0
from itself, each baseline is closest to the sound it imitates, the baselines are
RMS-matched and the model is not; a held note's decay and a sound's brightness are read
as they are."""

from __future__ import annotations

import numpy as np
import pytest
from synth_scores import score_clip

from liveai.audio.quality import (
    DECAY_POINTS_S,
    HELD_S,
    SYSTEMS,
    baseline,
    decay_db,
    distances,
    excitation,
    fit,
    held_notes,
    high_share_db,
    rms,
    rms_matched,
    summarize,
)
from liveai.models.synth import SynthConfig
from liveai.music.note import Note

SR = 48_000
CONFIG = SynthConfig(sample_rate=SR)
NOTE = [Note(0.1, 0.9, 69, 100)]  # A4, 440 Hz
LENGTH = SR


def tone(harmonics: int) -> np.ndarray:
    """440 Hz with 1/h harmonics while the note sounds, silence around it."""
    t = np.arange(LENGTH) / SR
    wave = sum(np.sin(2 * np.pi * 440 * h * t) / h for h in range(1, harmonics + 1))
    return (0.2 * wave * ((t >= 0.1) & (t < 0.9))).astype(np.float32)


def noise(like: np.ndarray, seed: int = 0) -> np.ndarray:
    return rms_matched(np.random.default_rng(seed).standard_normal(len(like)).astype(np.float32), like)


def test_a_sound_is_at_distance_zero_from_itself_and_far_from_noise():
    sound = tone(4)
    same = distances(sound, sound)
    assert same["mrstft"] < 1e-5 and same["lsd_db"] < 1e-3
    far = distances(noise(sound), sound)
    assert far["mrstft"] > 1.0 and far["lsd_db"] > 10.0


def test_the_sine_baseline_is_closer_to_a_sine_than_white_noise_and_the_excitation_are():
    sine = tone(1)
    ours = distances(baseline("sine", NOTE, sine, CONFIG), sine)
    for other in (noise(sine), baseline("excitation", NOTE, sine, CONFIG)):
        theirs = distances(other, sine)
        assert ours["mrstft"] < 0.5 * theirs["mrstft"] and ours["lsd_db"] < theirs["lsd_db"], (ours, theirs)


def test_the_excitation_baseline_is_closer_than_the_sine_to_a_tone_of_its_harmonics():
    rich = tone(CONFIG.harmonics)
    exc = distances(baseline("excitation", NOTE, rich, CONFIG), rich)
    sine = distances(baseline("sine", NOTE, rich, CONFIG), rich)
    assert exc["mrstft"] < sine["mrstft"] and exc["lsd_db"] < sine["lsd_db"], (exc, sine)


def test_the_baselines_are_the_features_channel_0_at_the_references_rms():
    reference = tone(3) * 0.37
    for name, harmonics in (("excitation", None), ("sine", 1)):
        made = baseline(name, NOTE, reference, CONFIG)
        raw = excitation(NOTE, LENGTH, CONFIG, harmonics)
        assert len(made) == LENGTH and rms(made) == pytest.approx(rms(reference), rel=1e-4)
        assert np.allclose(made / rms(made), raw / rms(raw), atol=1e-5)
    one, many = excitation(NOTE, LENGTH, CONFIG, 1), excitation(NOTE, LENGTH, CONFIG)
    assert not np.allclose(one, many)  # harmonics=1 does change the excitation
    assert rms_matched(np.zeros(10, np.float32), reference).tolist() == [0.0] * 10  # silence stays silence


def test_fit_cuts_and_pads_with_silence():
    assert fit(np.ones(5), 3).tolist() == [1, 1, 1]
    assert fit(np.ones(2), 4).tolist() == [1, 1, 0, 0] and fit(np.ones(2), 4).dtype == np.float32


def test_score_clip_fits_the_model_to_the_reference_and_gives_it_no_rms_match():
    reference = tone(4)
    longer = np.concatenate([reference, np.zeros(1000, np.float32)])
    scores = score_clip(NOTE, reference, longer, CONFIG)
    assert set(scores) == set(SYSTEMS) and scores["model"]["mrstft"] < 1e-5  # cut to the reference's length
    quiet = score_clip(NOTE, reference, 0.25 * reference[:-500], CONFIG)  # short: padded
    assert quiet["model"]["mrstft"] > 0.3 and quiet["model"]["lsd_db"] > 3.0  # -12 dB counts against it
    assert quiet["sine"] == scores["sine"] and quiet["excitation"] == scores["excitation"]
    mean = summarize([scores, quiet])
    assert mean["model"]["mrstft"] == pytest.approx(
        (scores["model"]["mrstft"] + quiet["model"]["mrstft"]) / 2
    )


def test_decay_is_read_off_each_held_notes_level_after_its_onset() -> None:
    rate = 48_000
    notes = held_notes()
    audio = np.zeros(round((notes[-1].end + 0.5) * rate), dtype=np.float32)
    for i, note in enumerate(notes):  # note i decays by e every (i + 1) seconds
        t = np.arange(round(HELD_S * rate)) / rate
        start = round(note.start * rate)
        audio[start : start + len(t)] = np.sin(2 * np.pi * 220 * t) * np.exp(-t / (i + 1))
    curves = decay_db(audio, notes, rate)
    assert curves.shape == (len(notes), len(DECAY_POINTS_S)) and (curves[:, 0] == 0).all()
    for i, row in enumerate(curves):
        expected = [-20 * np.log10(np.e) * (at - DECAY_POINTS_S[0]) / (i + 1) for at in DECAY_POINTS_S]
        assert np.abs(row - expected).max() < 0.2, (i, row, expected)


def test_the_high_share_says_how_bright_a_sound_is() -> None:
    rate = 48_000
    t = np.arange(rate) / rate
    assert high_share_db(np.sin(2 * np.pi * 1000 * t), rate) < -60  # nothing above 4 kHz
    white = np.random.default_rng(0).standard_normal(rate)
    assert abs(high_share_db(white, rate) - 10 * np.log10(20 / 24)) < 0.1  # 20 of its 24 kHz
