"""The synth's features stream: any cut into blocks gives the samples the whole file
gives (voices, phases across blocks, steals, noise), and a held note's excitation is
one continuous waveform across block boundaries."""

from __future__ import annotations

import numpy as np
import torch
from streaming import assert_streams_like_offline

from liveai.audio.features import LIVEAI, NoteFeatures, features_of_events, features_of_notes, note_events
from liveai.models.synth import SynthConfig
from liveai.music.note import Note

CONFIG = SynthConfig(harmonics=8)
LENGTH = CONFIG.sample_rate // 2  # blocks of 1 sample take a while


def played(seed: int = 0) -> list[tuple[int, int, int]]:
    """Dense random playing on 6 voices: overlaps, re-strikes and steals (40 notes in 0.45 s)."""
    rng = np.random.default_rng(seed)
    notes = [
        Note(
            float(s), float(s + rng.uniform(0.01, 0.3)), int(rng.integers(30, 100)), int(rng.integers(1, 128))
        )
        for s in np.sort(rng.uniform(0, 0.45, 40))
    ]
    return note_events(notes, CONFIG.sample_rate)


class EventStream:
    """NoteFeatures fed the same events, block by block (the live engine's way)."""

    def __init__(self, events: list[tuple[int, int, int, int]]) -> None:
        self.events, self.i = events, 0
        self.features = NoteFeatures(CONFIG, polyphony=6)

    def process(self, block: torch.Tensor) -> torch.Tensor:
        start, n = self.features.sample, block.shape[-1]
        inside = []
        while self.i < len(self.events) and self.events[self.i][0] < start + n:
            sample, pitch, velocity, layer = self.events[self.i]
            inside.append((sample - start, pitch, velocity, layer))
            self.i += 1
        return self.features.block(n, inside)

    def reset(self) -> None:
        self.__init__(self.events)  # type: ignore[misc]


def test_features_stream_like_the_whole_file() -> None:
    events = played()
    whole = features_of_events(events, LENGTH, CONFIG, polyphony=6, block=LENGTH)
    # float32 sines summed over voices and harmonics (values up to ~10): 1e-5 of that
    assert_streams_like_offline(
        lambda: EventStream(events), lambda _: whole, torch.zeros(1, 1, LENGTH), atol=1e-4
    )


def test_a_held_note_is_one_waveform_across_blocks() -> None:
    builder = NoteFeatures(CONFIG)
    builder.apply(69, 127)
    blocks = [builder.block(n)[0, 0] for n in (100, 1, 7, 333, 2000)]
    joined = torch.cat(blocks)[500:]  # after the attack
    t = torch.arange(500, len(joined) + 500, dtype=torch.float64) / CONFIG.sample_rate
    wave = sum(torch.sin(2 * np.pi * 440.0 * h * t) / h for h in range(1, 9))
    assert (joined.double() - wave).abs().max() < 1e-4
    assert (
        joined[1:] - joined[:-1]
    ).abs().max() < 0.6  # no step at any boundary: the largest is the waveform's own


def test_a_note_rising_from_silence_sounds_the_same_wherever_blocks_were_cut() -> None:
    events = [(1000, 60, 100, LIVEAI), (5000, 60, 0, LIVEAI), (9000, 60, 100, LIVEAI)]
    a = features_of_events(events, 12_000, CONFIG, block=4096)
    b = features_of_events(events, 12_000, CONFIG, block=999)
    assert (a - b).abs().max() < 5e-5


AGED = SynthConfig(harmonics=8, features=7)  # the channels that hear each note's age


def test_the_aged_channels_stream_like_the_whole_file() -> None:
    events = played()
    whole = features_of_events(events, LENGTH, AGED, polyphony=6, block=LENGTH)
    assert whole.shape == (1, 7, LENGTH)
    cut = features_of_events(events, LENGTH, AGED, polyphony=6, block=313)
    assert (whole - cut).abs().max() < 1e-4
    first = features_of_events(events, LENGTH, CONFIG, polyphony=6, block=LENGTH)
    assert torch.equal(whole[:, :4], first)  # the same four channels as a 4-feature synth hears


def test_the_first_synths_four_channels_are_what_it_was_trained_on() -> None:
    """synth.pt (4 features) hears what the code it was trained with built: per channel,
    the sum of |x| and its dot product with a fixed +-1 sequence, as that code (9c2b64d)
    gave them for this score. Channel 0 has the golden-ratio start phases (a time
    shift of each note's waveform; 57119.574, 402.31 with every note from phase 0): the
    noise, pitch and loudness channels are still the training code's."""
    rng = np.random.default_rng(7)
    notes = [
        Note(
            float(s), float(s + rng.uniform(0.01, 0.4)), int(rng.integers(30, 100)), int(rng.integers(1, 128))
        )
        for s in np.sort(rng.uniform(0, 1.5, 30))
    ]
    f = features_of_notes(notes, 96_000, SynthConfig(), polyphony=6)[0].double().numpy()
    signs = np.random.default_rng(0).choice([-1.0, 1.0], f.shape[1])
    then = [[58176.289, -72.68], [36316.089, 220.508], [61088.444, -297.1], [144300.617, -134.446]]
    now = [[float(np.abs(c).sum()), float(c @ signs)] for c in f]
    assert np.allclose(now, then, rtol=1e-6, atol=2e-3), now


def test_a_held_notes_aged_channels_decay_with_its_age_and_start_again_when_struck_again() -> None:
    rate = AGED.sample_rate
    events = [(0, 69, 127, LIVEAI), (3 * rate, 69, 127, LIVEAI)]  # A4, struck again at 3 s
    f = features_of_events(events, 4 * rate, AGED)[0].double()

    def level(channel: int, at_s: float) -> float:  # RMS over 20 ms
        i = int(at_s * rate)
        return float(f[channel, i : i + rate // 50].pow(2).mean().sqrt())

    sustained = level(0, 0.5) / level(0, 1.5)
    assert abs(sustained - 1.0) < 0.02  # the first channel holds
    assert abs(level(4, 0.5) / level(4, 0.5 + 500 / 440) / np.e - 1.0) < 0.05  # e in 500 periods
    assert abs(level(5, 0.1) / level(5, 0.1 + 100 / 440) / np.e - 1.0) < 0.05  # bright: e in 100 periods
    assert level(6, 0.005) > 5 * level(6, 0.05) and level(6, 0.2) < 1e-3  # the knock: 15 ms
    assert level(4, 3.1) > 2 * level(4, 2.9) and level(6, 3.005) > 0.1  # struck again: young again


def test_a_higher_note_dies_away_sooner_in_the_decaying_channel() -> None:
    """Channel 4 is channel 0 times exp(-age * f0 / 500): after a second, 0.77 of it at
    C3, 0.59 at C4, 0.35 at C5."""
    rate = AGED.sample_rate
    for pitch in (48, 60, 72):
        f = features_of_events([(0, pitch, 100, LIVEAI)], 2 * rate, AGED)[0].double()
        window = slice(rate, rate + 960)  # 20 ms from 1 s after the onset
        ratio = f[4, window].pow(2).mean().sqrt() / f[0, window].pow(2).mean().sqrt()
        f0 = 440 * 2 ** ((pitch - 69) / 12)
        assert abs(float(ratio) / np.exp(-1.01 * f0 / 500) - 1) < 0.01, pitch
