"""The synth's measures and baselines (liveai.audio.quality): a sound is at distance ~0
from itself, each baseline is closest to the sound it imitates, the baselines are
RMS-matched and the model is not."""

from __future__ import annotations

import numpy as np
import pytest

from liveai.audio.quality import SYSTEMS, baseline, distances, excitation, fit, rms, rms_matched, score_clip, summarize
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
    assert mean["model"]["mrstft"] == pytest.approx((scores["model"]["mrstft"] + quiet["model"]["mrstft"]) / 2)
