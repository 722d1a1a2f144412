"""Voices for the synth (#12): which oscillator plays which note, with envelopes that
never click, and note times mapped to sample offsets.

`Voices` keeps `polyphony` voices. A note-on takes a free voice, else steals the oldest
sounding one: the stolen note does not stop dead (a click) but moves to a ghost slot
that fades it out over `steal_s`, while its voice starts the new note (more than
`polyphony` steals within `steal_s` cut the quietest ghost short). A note-off
releases over `release_s`; a note-on rises over `attack_s`. Every envelope moves by at
most 1 / (the shortest ramp in samples) per sample, so the sound has no step in it.

`SampleClock` maps a note's target time (time.monotonic) to its sample in the stream:
onsets are sample-accurate against its `start` (the audio engine will re-anchor it to
the stream's own clock, which drifts from the system's), and one already past is played
at the block's first sample and counted late.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def midi_to_hz(pitch: int) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12.0)


@dataclass
class _Voice:
    pitch: int = -1
    level: float = 0.0  # the envelope now
    target: float = 0.0  # where it moves: the velocity's level, or 0 when released
    rate: float = 0.0  # per sample
    started: int = 0  # sample of its note-on (the oldest is stolen first)

    @property
    def sounding(self) -> bool:
        return self.level > 0.0 or self.target > 0.0


class Voices:
    def __init__(self, polyphony: int, sample_rate: int, attack_s: float = 0.004, release_s: float = 0.06,
                 steal_s: float = 0.004) -> None:
        self.sample_rate = sample_rate
        self.attack = max(1, round(attack_s * sample_rate))
        self.release = max(1, round(release_s * sample_rate))
        self.steal = max(1, round(steal_s * sample_rate))
        self.voices = [_Voice() for _ in range(polyphony)]
        self.ghosts = [_Voice() for _ in range(polyphony)]  # stolen notes fading out
        self.stolen = 0
        self.moves: list[tuple[int, int]] = []  # (voice slot, ghost slot) since the last render

    @property
    def max_step(self) -> float:
        """The most an envelope moves in one sample."""
        return 1.0 / min(self.attack, self.release, self.steal)

    def note_on(self, pitch: int, velocity: int, at: int) -> int | None:
        """The voice that plays it (a re-struck pitch keeps its voice, held or fading,
        and rises from where it is); velocity 0 is a note-off."""
        if velocity <= 0:
            self.note_off(pitch)
            return None
        level = velocity / 127.0
        index = next((i for i, v in enumerate(self.voices) if v.pitch == pitch and v.sounding), None)
        if index is None:
            index = next((i for i, v in enumerate(self.voices) if not v.sounding), None)
        if index is None:
            index = min(range(len(self.voices)), key=lambda i: self.voices[i].started)
            self._fade_into_ghost(index)
            self.stolen += 1
            self.voices[index].level = 0.0  # its sound went on in the ghost
        voice = self.voices[index]
        voice.pitch, voice.target, voice.started = pitch, level, at
        voice.rate = 1.0 / self.attack
        return index

    def note_off(self, pitch: int) -> None:
        for voice in self.voices:
            if voice.pitch == pitch and voice.target > 0:
                voice.target, voice.rate = 0.0, 1.0 / self.release

    def _fade_into_ghost(self, index: int) -> None:
        voice = self.voices[index]
        g = min(range(len(self.ghosts)), key=lambda j: self.ghosts[j].level)
        ghost = self.ghosts[g]
        ghost.pitch, ghost.level, ghost.target, ghost.rate = voice.pitch, voice.level, 0.0, 1.0 / self.steal
        self.moves.append((index, len(self.voices) + g))  # its oscillator's phase goes with it

    def take_moves(self) -> list[tuple[int, int]]:
        """Slots whose oscillator phase must be copied (from, to) before the next render,
        so a stolen note fades on from where it was."""
        moves, self.moves = self.moves, []
        return moves

    def render(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """f0 (1, 2P, n) in Hz and envelopes (1, 2P, n) of the next n samples: the voices,
        then the ghosts."""
        f0 = torch.zeros(1, 2 * len(self.voices), n)
        env = torch.zeros(1, 2 * len(self.voices), n)
        ramp = torch.arange(1, n + 1, dtype=torch.float32)
        for i, v in enumerate(self.voices + self.ghosts):
            if not v.sounding:
                v.pitch = -1
                continue
            step = v.rate if v.target > v.level else -v.rate
            levels = torch.clamp(v.level + step * ramp, min(v.level, v.target), max(v.level, v.target))
            env[0, i] = levels
            f0[0, i] = midi_to_hz(v.pitch)
            v.level = float(levels[-1])
            if v.level <= 0.0 and v.target <= 0.0:
                v.pitch = -1
        return f0, env

    def sounding(self) -> int:
        return sum(v.sounding for v in self.voices)


class SampleClock:
    """The stream's timeline: sample 0 plays at `start` (time.monotonic)."""

    def __init__(self, start: float, sample_rate: int) -> None:
        self.start = start
        self.sample_rate = sample_rate
        self.late = 0

    def sample_of(self, t: float) -> int:
        return round((t - self.start) * self.sample_rate)

    def offset_in(self, t: float, block_start: int, block_len: int) -> int | None:
        """Where in the block [block_start, block_start + block_len) time `t` falls: None
        if it is after the block; 0 (and counted late) if it is already past."""
        sample = self.sample_of(t)
        if sample >= block_start + block_len:
            return None
        if sample < block_start:
            self.late += 1
            return 0
        return sample - block_start
