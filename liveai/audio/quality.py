"""How close the synth comes to FluidSynth, and the baselines it must beat, for
scripts/eval_synth.py and the tests: one code path for every system.

- "model": the network as the live engine plays it (`SynthRenderer`, `render_notes`),
  at its own level.
- "excitation": the features' channel 0 alone, no network: every voice's 1/h harmonics
  times its envelope, exactly what the network is fed.
- "sine": one sine per note with the same envelope (channel 0 built with
  `harmonics=1`).

The baselines are scaled to the reference's RMS, clip by clip; the model is not (a
help the baselines get and the model does not: both distances are level-sensitive).
Distances (liveai.models.spectral): the multi-resolution STFT distance and the
log-spectral distance in dB, of each system from the reference. Musical figures: how a
held note decays (its level over two seconds, the probe `held_notes`) and how bright
the sound is (the share of its energy above 4 kHz), each beside the reference's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch

from ..models.spectral import lsd, mrstft
from ..models.synth import SynthConfig
from ..music.note import Note
from .features import features_of_notes

SYSTEMS = ("model", "excitation", "sine")
BASELINE_HARMONICS = {"excitation": None, "sine": 1}  # None: the model's own harmonics


def fit(audio: np.ndarray, length: int) -> np.ndarray:
    """`audio` cut or padded with silence to `length` samples, float32."""
    audio = np.asarray(audio, dtype=np.float32)[:length]
    return np.pad(audio, (0, length - len(audio))) if len(audio) < length else audio


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if len(audio) else 0.0


def rms_matched(audio: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`audio` scaled to the reference's RMS (silence stays silence)."""
    level = rms(audio)
    return audio if level == 0.0 else (audio * (rms(reference) / level)).astype(np.float32)


def excitation(
    notes: Sequence[Note], length: int, config: SynthConfig, harmonics: int | None = None
) -> np.ndarray:
    """The features' channel 0 (the harmonic excitation) of `notes`, `length` samples;
    `harmonics` replaces the config's (1: one sine per note)."""
    if harmonics is not None:
        config = dataclasses.replace(config, harmonics=harmonics)
    return features_of_notes(notes, length, config)[0, 0].numpy().astype(np.float32)


def baseline(name: str, notes: Sequence[Note], reference: np.ndarray, config: SynthConfig) -> np.ndarray:
    """The baseline `name` ("excitation" or "sine") of `notes`, as long as the
    reference and at its RMS."""
    return rms_matched(excitation(notes, len(reference), config, BASELINE_HARMONICS[name]), reference)


def distances(audio: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """{"mrstft", "lsd_db"} of `audio` from `reference` (the same length)."""
    x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None]
    y = torch.from_numpy(np.ascontiguousarray(reference, dtype=np.float32))[None]
    return {"mrstft": float(mrstft(x, y)), "lsd_db": float(lsd(x, y))}


def systems_of(
    notes: Sequence[Note], reference: np.ndarray, model_audio: np.ndarray, config: SynthConfig
) -> dict[str, np.ndarray]:
    """Every system's audio for one clip, as long as the reference: the model's
    rendering cut or padded to it, the baselines built from `notes` and RMS-matched."""
    reference = np.asarray(reference, dtype=np.float32)
    return {
        "model": fit(model_audio, len(reference)),
        **{name: baseline(name, notes, reference, config) for name in BASELINE_HARMONICS},
    }


# The decay probes' notes, one at a time: C2 to C6 at velocity 100 (the probe the aged
# channels' constants were read off), and a second one none was chosen by.
PROBES = {"c2-c6": ((36, 48, 60, 72, 84), 100), "other": ((41, 55, 66, 79, 90), 70)}
HELD_S, HELD_GAP_S = 2.5, 1.0
DECAY_POINTS_S = (0.03, 0.25, 0.5, 1.0, 2.0)  # when a held note's level is read, after its onset
HIGH_HZ = 4000.0  # "bright": the share of the energy above this


def held_notes(probe: str = "c2-c6") -> list[Note]:
    """A decay probe: each of its pitches held HELD_S, alone, HELD_GAP_S apart."""
    pitches, velocity = PROBES[probe]
    step = HELD_S + HELD_GAP_S
    return [Note(i * step, i * step + HELD_S, pitch, velocity) for i, pitch in enumerate(pitches)]


def decay_db(audio: np.ndarray, notes: Sequence[Note], rate: int, window_s: float = 0.02) -> np.ndarray:
    """Each note's level (RMS over `window_s`, dB) at DECAY_POINTS_S after its onset,
    relative to its level at the first point: (notes, points), the first column 0."""
    n = round(window_s * rate)
    levels = np.array(
        [
            [
                10
                * np.log10(
                    np.mean(np.square(audio[round((note.start + at) * rate) :][:n], dtype=np.float64)) + 1e-12
                )
                for at in DECAY_POINTS_S
            ]
            for note in notes
        ]
    )
    return levels - levels[:, :1]


def high_share_db(audio: np.ndarray, rate: int, cutoff: float = HIGH_HZ) -> float:
    """The energy above `cutoff` as a share of all of it, dB (how bright it sounds)."""
    spectrum = np.abs(np.fft.rfft(np.asarray(audio, dtype=np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / rate)
    return float(10 * np.log10(spectrum[freqs >= cutoff].sum() / max(spectrum.sum(), 1e-20) + 1e-20))


def summarize(per_clip: Sequence[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """The mean of each system's distances over clips."""
    return (
        {
            system: {
                metric: float(np.mean([clip[system][metric] for clip in per_clip]))
                for metric in per_clip[0][system]
            }
            for system in per_clip[0]
        }
        if per_clip
        else {}
    )
