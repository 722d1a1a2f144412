"""Voices for the synth: which oscillator plays which note, with envelopes that
never click.

`Voices` keeps `polyphony` voices. A note-on takes a free voice, else steals the
quietest one already releasing, else the oldest: the stolen note does not stop dead (a
click) but moves to a ghost slot
that fades it out over `steal_s`, while its voice starts the new note (more than
`polyphony` steals within `steal_s` cut the quietest ghost short). A note-off
releases over `release_s`, or, while the sustain pedal is down, when it comes up (as
a piano's dampers do); a note-on rises over `attack_s`. Notes, note-offs and pedals
belong to a layer (liveai's, or the player's with audio.play = "all"): one layer's
never end the other's. Each voice keeps its
oscillator's phase, which a stolen note takes into its ghost. A note rising from silence
starts at the next point of a golden-ratio sequence over the notes so started: a chord's
voices do not start phase-aligned, whose onsets would peak together (the sum of N voices
at N times one's peak), and the start depends on the notes alone, not on how the stream
was cut into blocks. Every envelope moves by at
most 1 / (the shortest ramp in samples) per sample, so the sound has no step in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Whose note a voice plays: liveai's (0), or the player's (audio.play = "all"), each of the
# player's sources a layer of its own from PLAYER up.
LIVEAI, PLAYER = 0, 1
# Successive start phases step by the golden ratio's fraction: any run of them spreads
# evenly over the cycle, so no two notes struck together start near one phase.
GOLDEN = (5**0.5 - 1) / 2


def midi_to_hz(pitch: int) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12.0)


@dataclass
class _Voice:
    pitch: int = -1
    level: float = 0.0  # the envelope now
    target: float = 0.0  # where it moves: the velocity's level, or 0 when released
    rate: float = 0.0  # per sample
    started: int = 0  # sample of its note-on (the oldest is stolen first)
    phase: float = 0.0  # its oscillator, in cycles, before the next sample
    pedalled: bool = False  # its key is up, the sustain pedal holds it
    layer: int = LIVEAI  # whose note

    @property
    def sounding(self) -> bool:
        return self.level > 0.0 or self.target > 0.0


class Voices:
    def __init__(
        self,
        polyphony: int,
        sample_rate: int,
        attack_s: float = 0.004,
        release_s: float = 0.06,
        steal_s: float = 0.004,
    ) -> None:
        self.sample_rate = sample_rate
        self.attack = max(1, round(attack_s * sample_rate))
        self.release = max(1, round(release_s * sample_rate))
        self.steal = max(1, round(steal_s * sample_rate))
        self.voices = [_Voice() for _ in range(polyphony)]
        self.ghosts = [_Voice() for _ in range(polyphony)]  # stolen notes fading out
        self.slots = self.voices + self.ghosts
        self.stolen = 0
        self.started = 0  # notes started from silence: the next start phase is GOLDEN x this
        self.pedals: set[int] = set()  # the layers whose sustain pedal is down
        self._ones = self._zeros = np.zeros(0)

    def note_on(self, pitch: int, velocity: int, at: int, layer: int = LIVEAI) -> int | None:
        """The voice that plays it (a pitch re-struck in its layer keeps its voice, held
        or fading, and rises from where it is, its phase going on: no click); velocity 0
        is a note-off. A note rising from silence starts at the next golden-ratio phase."""
        if velocity <= 0:
            self.note_off(pitch, layer)
            return None
        level = velocity / 127.0
        index = next(
            (i for i, v in enumerate(self.voices) if v.pitch == pitch and v.layer == layer and v.sounding),
            None,
        )
        if index is None:
            index = next((i for i, v in enumerate(self.voices) if not v.sounding), None)
        if index is None:
            index = self._to_steal()
            self._fade_into_ghost(index)
            self.stolen += 1
            self.voices[index].level = 0.0  # its sound went on in the ghost
        voice = self.voices[index]
        if voice.level == 0.0:
            voice.phase = (self.started * GOLDEN) % 1.0
            self.started += 1
        voice.pitch, voice.target, voice.started, voice.layer = pitch, level, at, layer
        voice.rate = 1.0 / self.attack
        voice.pedalled = False
        return index

    def _to_steal(self) -> int:
        """The quietest voice already releasing, else the oldest."""
        releasing = [i for i, v in enumerate(self.voices) if v.target == 0.0]
        if releasing:
            return min(releasing, key=lambda i: self.voices[i].level)
        return min(range(len(self.voices)), key=lambda i: self.voices[i].started)

    def note_off(self, pitch: int, layer: int = LIVEAI) -> None:
        for voice in self.voices:
            if voice.pitch == pitch and voice.layer == layer and voice.target > 0:
                if layer in self.pedals:
                    voice.pedalled = True
                else:
                    self._release(voice)

    def sustain(self, down: bool, layer: int = LIVEAI) -> None:
        """A layer's sustain pedal (CC 64): while down, its note-offs wait for it to come up."""
        if down:
            self.pedals.add(layer)
            return
        self.pedals.discard(layer)
        for voice in self.voices:
            if voice.pedalled and voice.layer == layer:
                self._release(voice)

    def all_off(self, layer: int | None = None) -> None:
        """Every voice of `layer` (None: every voice) releases, and its pedal counts as
        up: a lost keyboard whose pedal was down never sends it up, and nothing may ring
        on for that."""
        self.pedals = set() if layer is None else self.pedals - {layer}
        for voice in self.voices:
            if voice.target > 0 and (layer is None or voice.layer == layer):
                self._release(voice)

    def _release(self, voice: _Voice) -> None:
        voice.target, voice.rate, voice.pedalled = 0.0, 1.0 / self.release, False

    def _fade_into_ghost(self, index: int) -> None:
        """The stolen note fades on in the quietest ghost slot, from its own level and
        phase."""
        voice = self.voices[index]
        ghost = min(self.ghosts, key=lambda g: g.level)
        ghost.pitch, ghost.level, ghost.target, ghost.rate = voice.pitch, voice.level, 0.0, 1.0 / self.steal
        ghost.phase, ghost.started = voice.phase, voice.started

    def render_into(
        self,
        f0: np.ndarray,
        env: np.ndarray,
        phase: np.ndarray,
        start: int,
        stop: int,
        born: np.ndarray | None = None,
    ) -> None:
        """Write samples [start, stop) of every slot (the voices, then the ghosts) into
        f0 (Hz), env, phase (cycles, where each sample is drawn) and `born` (the sample
        its note began on, to tell its age), and move on."""
        n = stop - start
        ramp, steps = self._ramp(n)
        for i, v in enumerate(self.slots):
            if not v.sounding:
                v.pitch = -1
                continue
            hz = midi_to_hz(v.pitch)
            step = v.rate if v.target > v.level else -v.rate
            levels = np.clip(v.level + step * ramp, min(v.level, v.target), max(v.level, v.target))
            env[i, start:stop] = levels
            f0[i, start:stop] = hz
            if born is not None:
                born[i, start:stop] = v.started
            increment = hz / self.sample_rate
            phase[i, start:stop] = v.phase + increment * steps
            v.phase = (v.phase + increment * n) % 1.0
            v.level = float(levels[-1])
            if v.level <= 0.0 and v.target <= 0.0:
                v.pitch = -1

    def render(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(f0, env, phase), each (2P, n), of the next n samples."""
        f0, env, phase = (np.zeros((len(self.slots), n)) for _ in range(3))
        self.render_into(f0, env, phase, 0, n)
        return f0, env, phase

    def _ramp(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(1..n, 0..n-1) as float64, kept between calls."""
        if len(self._ones) < n:
            self._ones = np.arange(1, n + 1, dtype=np.float64)
            self._zeros = np.arange(n, dtype=np.float64)
        return self._ones[:n], self._zeros[:n]

    def sounding(self, ghosts: bool = False) -> int:
        """Voices sounding; with `ghosts`, stolen notes still fading out too."""
        return sum(v.sounding for v in (self.slots if ghosts else self.voices))
