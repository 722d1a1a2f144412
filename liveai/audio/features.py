"""What the synth network hears: the sounding notes turned into per-sample
features, block by block, the same way live and offline.

    0 harmonic excitation  every voice's 1/h harmonics at its f0, times its envelope
    1 noise                counter-based white noise, times the summed envelope (at most 1)
    2 pitch                the envelope-weighted mean of log2(f0 / 440) over voices
    3 loudness             the summed envelope
    4 decaying excitation  channel 0 with each voice also times exp(-age * f0 / 500)
    5 bright excitation    every voice's harmonics up to Nyquist at equal amplitudes,
                           times its envelope and exp(-age * f0 / 100)
    6 knock                the noise times the summed envelope, each voice's also times
                           exp(-age / 15 ms)

where a voice's age is the time since its note began (a key struck again starts
again), and age * f0 that time in periods of its pitch. A network of
`SynthConfig.features = 4` (the first synth) hears channels 0-3.

`NoteFeatures` keeps the voices (with their oscillators' phases) and the noise's
sample counter, so a block of any length continues the one before. A note event lands at its
sample offset inside the block: the block is rendered up to it, the event applied,
then the rest. `features_of_notes` is the offline form that training and
`liveai render` use: the same class, fed a whole file's events.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import torch

from ..models.synth import SynthConfig
from ..music.note import Note
from .excitation import block_noise, cycles, harmonic_waves, pulse_waves
from .voices import LIVEAI, Voices
from .wire import ALL_NOTES_OFF, PEDAL

A4 = 440.0
# The aged channels' time constants: channels 4 and 5 in periods of the note's own pitch
# (a higher note dies away sooner, as a struck string or tine does: 500 periods are
# 1.9 s at middle C, 0.48 s two octaves up), the knock in seconds.
DECAY_PERIODS, BRIGHT_PERIODS, KNOCK_S = 500.0, 100.0, 0.015

# Events are (sample or offset, pitch, velocity, layer): velocity 0 is a note-off; the
# layer says whose note it is, so that one's note-off or pedal never touches the
# other's note of the same pitch. ALL_NOTES_OFF and PEDAL (liveai.audio.wire) are not notes.
NoteEvent = tuple[int, int, int, int]


class NoteFeatures:
    def __init__(self, config: SynthConfig, polyphony: int = 16, seed: int = 0) -> None:
        self.config = config
        self.voices = Voices(polyphony, config.sample_rate)
        self.seed = seed
        self.sample = 0  # the stream's position: the next block starts here

    def apply(self, pitch: int, velocity: int, offset: int = 0, layer: int = LIVEAI) -> None:
        """A note-on `offset` samples into the next block (its age decides what is
        stolen), a note-off (velocity 0), all notes off (pitch ALL_NOTES_OFF) or the
        sustain pedal (pitch PEDAL, velocity 64 and up for down), of `layer`."""
        if pitch == PEDAL:
            self.voices.sustain(velocity >= 64, layer)
        elif pitch == ALL_NOTES_OFF:
            self.voices.all_off(None if layer == LIVEAI else layer)
        elif velocity > 0:
            self.voices.note_on(pitch, velocity, at=self.sample + offset, layer=layer)
        else:
            self.voices.note_off(pitch, layer)

    def block(self, n: int, events: Sequence[NoteEvent] = ()) -> torch.Tensor:
        """Features (1, config.features, n) of the next n samples; `events` are (offset
        in the block, pitch, velocity, layer), in order, each applied at its sample. The
        voices are rendered in segments between events; the sources once for the whole
        block, for the voices that sound."""
        slots = len(self.voices.slots)
        f0, env, phase = np.zeros((slots, n)), np.zeros((slots, n), dtype=np.float32), np.zeros((slots, n))
        born = np.zeros((slots, n)) if self.config.features > 4 else None  # only the aged channels need it
        done = 0
        for offset, pitch, velocity, layer in events:
            offset = min(max(offset, done), n)
            if offset > done:
                self.voices.render_into(f0, env, phase, done, offset, born)
                done = offset
            self.apply(pitch, velocity, offset, layer)
        if n > done:
            self.voices.render_into(f0, env, phase, done, n, born)
        rate = self.config.sample_rate
        rows = np.nonzero(env.max(axis=-1) > 0)[0]
        hz, env = f0[rows].astype(np.float32), env[rows]
        loudness = env.sum(axis=0)
        octaves = np.log2(np.maximum(hz, 1.0) / A4) * (hz > 0)
        pitch = (env * octaves).sum(axis=0) / np.maximum(loudness, 1e-3)
        white = block_noise(self.sample, n, seed=self.seed)
        cycle = cycles(phase[rows])
        waves = harmonic_waves(cycle, hz, rate, self.config.harmonics) * env
        channels = [waves.sum(axis=0), white * np.minimum(loudness, 1.0), pitch.astype(np.float32), loudness]
        if born is not None:  # the aged channels
            # s since each note began
            age = (((self.sample + np.arange(n)) - born[rows]) / rate).astype(np.float32)
            periods = age * hz  # its age in periods of its own pitch
            channels.append((waves * np.exp(-periods / DECAY_PERIODS)).sum(axis=0))
            bright = pulse_waves(phase[rows], hz, rate) * env * np.exp(-periods / BRIGHT_PERIODS)
            channels.append(bright.sum(axis=0))
            channels.append(white * np.minimum((env * np.exp(-age / KNOCK_S)).sum(axis=0), 1.0))
        self.sample += n
        return torch.from_numpy(np.stack(channels).astype(np.float32)[None])

    def skip(self, n: int) -> None:
        """Move on n samples with no voice sounding and no event: their features are zeros."""
        self.sample += n

    def silent(self) -> bool:
        """No voice sounds, nor a stolen note fading out."""
        return not self.voices.sounding(ghosts=True)

    def sounding(self) -> int:
        return self.voices.sounding()


def note_events(notes: Iterable[Note], sample_rate: int) -> list[NoteEvent]:
    """A file's notes as (sample, pitch, velocity, LIVEAI) events in time order; at one
    sample, offs before ons (a repeated note ends, then strikes again)."""
    events = []
    for note in notes:
        events.append((round(note.start * sample_rate), note.pitch, note.velocity, LIVEAI))
        events.append((round(note.end * sample_rate), note.pitch, 0, LIVEAI))
    events.sort(key=lambda e: (e[0], e[2] > 0))
    return events


def blocks_of(events: Sequence[NoteEvent], length: int, block: int) -> Iterator[tuple[int, list[NoteEvent]]]:
    """A file's `length` samples cut into blocks: (samples, its events as (offset in the
    block, pitch, velocity, layer)) for each, in order."""
    i = 0
    for start in range(0, length, block):
        n = min(block, length - start)
        inside = []
        while i < len(events) and events[i][0] < start + n:
            sample, pitch, velocity, layer = events[i]
            inside.append((sample - start, pitch, velocity, layer))
            i += 1
        yield n, inside


def features_of_events(
    events: Sequence[NoteEvent],
    length: int,
    config: SynthConfig,
    polyphony: int = 16,
    block: int = 4096,
    seed: int = 0,
) -> torch.Tensor:
    """Features (1, config.features, length) of timed events, from silence."""
    builder = NoteFeatures(config, polyphony, seed)
    parts = [builder.block(n, inside) for n, inside in blocks_of(events, length, block)]
    return torch.cat(parts, dim=-1) if parts else torch.zeros(1, config.features, 0)


def features_of_notes(
    notes: Sequence[Note], length: int, config: SynthConfig, polyphony: int = 16, seed: int = 0
) -> torch.Tensor:
    return features_of_events(note_events(notes, config.sample_rate), length, config, polyphony, seed=seed)
