"""What the synth network hears (#12): the sounding notes turned into per-sample
features, block by block, the same way live and offline.

    0 harmonic excitation  every voice's 1/h harmonics at its f0, times its envelope
    1 noise                counter-based white noise, times the summed envelope
    2 pitch                the envelope-weighted mean of log2(f0 / 440) over voices
    3 loudness             the summed envelope

`NoteFeatures` keeps the voices, their oscillators' phases and the noise's sample
counter, so a block of any length continues the one before. A note event lands at its
sample offset inside the block: the block is rendered up to it, the event applied,
then the rest. `features_of_notes` is the offline form that training and
`liveai render` use: the same class, fed a whole file's events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from ..models.synth import FEATURE_NAMES, SynthConfig, block_noise, harmonic_excitation, oscillators
from ..music.note import Note
from .voices import Voices

FEATURES = len(FEATURE_NAMES)
A4 = 440.0

# (sample, pitch, velocity): velocity 0 is a note-off
NoteEvent = tuple[int, int, int]


class NoteFeatures:
    def __init__(self, config: SynthConfig, polyphony: int = 16, seed: int = 0) -> None:
        self.config = config
        self.voices = Voices(polyphony, config.sample_rate)
        self.osc = oscillators(1, 2 * polyphony)
        self.seed = seed
        self.sample = 0  # the stream's position: the next block starts here

    def note_on(self, pitch: int, velocity: int) -> None:
        index = self.voices.note_on(pitch, velocity, at=self.sample)
        for slot, ghost in self.voices.take_moves():  # a stolen note fades on from its phase
            self.osc.phase[:, ghost] = self.osc.phase[:, slot]
        if index is not None and self.voices.voices[index].level == 0.0:
            # A note rising from silence starts at phase 0: the sound then depends on the
            # notes alone, not on how the stream was cut into blocks. (A re-struck note
            # that still sounds goes on from its phase: no click.)
            self.osc.phase[:, index] = 0.0

    def note_off(self, pitch: int) -> None:
        self.voices.note_off(pitch)

    def apply(self, pitch: int, velocity: int) -> None:
        if velocity > 0:
            self.note_on(pitch, velocity)
        else:
            self.note_off(pitch)

    def all_off(self) -> None:
        for voice in self.voices.voices:
            if voice.target > 0:
                self.voices.note_off(voice.pitch)

    def block(self, n: int, events: Sequence[tuple[int, int, int]] = ()) -> torch.Tensor:
        """Features (1, FEATURES, n) of the next n samples; `events` are (offset in the
        block, pitch, velocity), in order, each applied at its sample."""
        parts, done = [], 0
        for offset, pitch, velocity in events:
            offset = min(max(offset, done), n)
            if offset > done:
                parts.append(self._render(offset - done))
                done = offset
            self.apply(pitch, velocity)
        if n > done or not parts:
            parts.append(self._render(n - done))
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)

    def _render(self, n: int) -> torch.Tensor:
        f0, env = self.voices.render(n)
        excitation, self.osc = harmonic_excitation(f0, env, self.osc, self.config.sample_rate, self.config.harmonics)
        loudness = env.sum(dim=1)  # (1, n)
        octaves = torch.log2(torch.clamp(f0, min=1.0) / A4) * (f0 > 0)
        pitch = (env * octaves).sum(dim=1) / torch.clamp(loudness, min=1e-3)
        noise = block_noise(self.sample, n, seed=self.seed) * torch.clamp(loudness, max=1.0)
        self.sample += n
        return torch.stack([excitation, noise, pitch, loudness], dim=1)

    def sounding(self) -> int:
        return self.voices.sounding()


def note_events(notes: Iterable[Note], sample_rate: int) -> list[NoteEvent]:
    """A file's notes as (sample, pitch, velocity) events in time order; at one sample,
    offs before ons (a repeated note ends, then strikes again)."""
    events = []
    for note in notes:
        events.append((round(note.start * sample_rate), note.pitch, note.velocity))
        events.append((round(note.end * sample_rate), note.pitch, 0))
    events.sort(key=lambda e: (e[0], e[2] > 0))
    return events


def features_of_events(events: Sequence[NoteEvent], length: int, config: SynthConfig, polyphony: int = 16,
                       block: int = 4096, seed: int = 0) -> torch.Tensor:
    """Features (1, FEATURES, length) of timed events, from silence."""
    builder = NoteFeatures(config, polyphony, seed)
    parts, i = [], 0
    for start in range(0, length, block):
        n = min(block, length - start)
        inside = []
        while i < len(events) and events[i][0] < start + n:
            sample, pitch, velocity = events[i]
            inside.append((sample - start, pitch, velocity))
            i += 1
        parts.append(builder.block(n, inside))
    return torch.cat(parts, dim=-1) if parts else torch.zeros(1, FEATURES, 0)


def features_of_notes(notes: Sequence[Note], length: int, config: SynthConfig, polyphony: int = 16,
                      seed: int = 0) -> torch.Tensor:
    return features_of_events(note_events(notes, config.sample_rate), length, config, polyphony, seed=seed)
