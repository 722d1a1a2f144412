"""A session's harmony: the harmony model's state, and the voicing chosen under the live
constraints at every melody note.

The model scores every voicing; the constraints are masks on that choice, never on
the model: consonance (every interval a 3rd, 4th, 5th, 6th or octave), the key's scale
(every voice in it), the register (every voice within low..high), the voice count, the
held keys (no voice on a pitch the player holds). Voice leading is a cost on the rest: LEADING nats per
semitone each voice moves from the chord before (the nearest of its voices), and
PARALLELS nats per parallel fifth or octave. Voices stay under the melody unless
`above`: then a voice may sound an octave higher where that moves it less.
Everything here runs on the model's worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import torch

from ..music.voicing import consonant
from . import harmony as hm
from .sampling import nucleus_draw

LEADING = 1.5  # nats per semitone of mean motion per voice (tuned on the validation pieces)
PARALLELS = 1.0  # nats per parallel fifth or octave
TOP_P = 0.9
# (i, j) index arrays of every pair among n parts (the melody and up to 3 voices)
PAIRS = {
    n: tuple(np.array(side, dtype=np.int64).reshape(-1) for side in zip(*combinations(range(n), 2)))
    if n > 1
    else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    for n in range(1, 5)
}


@dataclass(frozen=True)
class Ask:
    """What the player and the shared state ask of one chord."""

    melody: int
    tonic: int = 0  # the key (pitch class) and its mode: inputs of the model
    minor: bool = False
    voices: int = 2
    scale: frozenset[int] | None = None  # allowed pitch classes (None: any)
    low: int = 0
    high: int = 127
    above: bool = False
    onset_q: float | None = None  # quarter notes from a bar line; None: no clock
    temperature: float = 1.0
    held: frozenset[int] = frozenset()  # pitches the player holds: no voice doubles them
    # the chord last sounded (melody first; () none), when it may not be the one chosen
    # last (the rule answered, or no one did); None: the last chosen sounded
    before: tuple[int, ...] | None = None


class Voicer:
    """One session's harmony model state and last chord (not thread-safe: one thread)."""

    def __init__(self, model: hm.HarmonyModel, rng: np.random.Generator | None = None) -> None:
        self.model = model
        voicings = model.config.voicings
        self.count = np.array([len(v) for v in voicings])  # (V,)
        self.intervals = np.zeros((len(voicings), 3), dtype=np.int64)  # (V, 3), 0-padded
        for i, v in enumerate(voicings):
            self.intervals[i, : len(v)] = v
        self.present = np.arange(3)[None, :] < self.count[:, None]  # (V, 3)
        self.index = {tuple(v): i for i, v in enumerate(voicings)}
        # trained vocabularies are consonant; any other checkpoint's clusters are never chosen
        self.consonant = np.array([consonant([0, *(-i for i in v)]) for v in voicings])
        self.rng = rng or np.random.default_rng()
        self.reset()

    def reset(self) -> None:
        """Forget what was played (a new phrase, a panic)."""
        self.state: hm.HarmonyState | None = None  # made at the first chord, on the worker (not the loop)
        self.previous = len(self.count)  # none
        self.previous_melody = -1
        self.chord: list[int] = []  # the melody and voices last sounded

    def allowed(self, ask: Ask) -> tuple[np.ndarray, np.ndarray]:
        """(mask (V,), pitches (V, 3)): the voicings the constraints allow, and where
        their voices sound (after any octave moves when `ask.above`)."""
        pitches = ask.melody - self.intervals  # (V, 3)
        if ask.above and len(self.chord) > 1:
            up = pitches + 12
            before = np.array(self.chord[1:])
            closer = np.abs(up[..., None] - before).min(-1) < np.abs(pitches[..., None] - before).min(-1)
            pitches = np.where(closer & (up <= ask.high) & (up != ask.melody), up, pitches)
            # each voice moved on its own: sort the rows again (the cost pairs voices lowest
            # first) and drop the voicings where a voice landed on another (an octave pair)
            pitches = np.sort(np.where(self.present, pitches, 1 << 20), axis=1)
            pitches = np.where(self.present, pitches, ask.melody)
            apart = ((np.diff(pitches, axis=1) != 0) | ~self.present[:, 1:]).all(1)
        else:
            apart = np.ones(len(pitches), dtype=bool)
        ok = (
            apart
            & self.consonant
            & (self.count == ask.voices)
            & (((pitches >= ask.low) & (pitches <= ask.high)) | ~self.present).all(1)
        )
        if ask.held:
            ok &= (~np.isin(pitches, list(ask.held)) | ~self.present).all(1)
        if ask.scale is not None:
            in_key = np.zeros(12, dtype=bool)
            in_key[list(ask.scale)] = True
            ok &= (in_key[pitches % 12] | ~self.present).all(1)
        return ok, pitches

    def cost(self, pitches: np.ndarray, ask: Ask) -> np.ndarray:
        """(V,) voice-leading cost of each voicing after the last chord."""
        if len(self.chord) < 2:
            return np.zeros(len(pitches))
        before = np.array(self.chord[1:])
        moved = np.abs(pitches[..., None] - before).min(-1)  # (V, 3)
        mean_motion = (moved * self.present).sum(1) / np.maximum(self.count, 1)
        return LEADING * mean_motion + PARALLELS * self._parallels(pitches, ask.melody)

    def _parallels(self, pitches: np.ndarray, melody: int) -> np.ndarray:
        """(V,) parallel perfect intervals against the last chord, for voicings of its size."""
        before = np.array(self.chord)  # melody first
        if len(before) not in PAIRS:  # the rule's chord may hold more voices than a voicing
            return np.zeros(len(pitches))
        i, j = PAIRS[len(before)]  # (P,) each: every pair of parts
        # after: (V, n)
        after = np.concatenate([np.full((len(pitches), 1), melody), pitches], axis=1)[:, : len(before)]
        moved = after - before  # (V, n)
        a, b = moved[:, i], moved[:, j]  # (V, P)
        was = np.abs(before[i] - before[j]) % 12  # (P,)
        now = np.abs(after[:, i] - after[:, j]) % 12  # (V, P)
        parallel = (a != 0) & (b != 0) & ((a > 0) == (b > 0)) & ((was == 0) | (was == 7)) & (now == was)
        return np.where(self.count == len(before) - 1, parallel.sum(1), 0)

    @torch.inference_mode()
    def voice(self, ask: Ask) -> list[int] | None:
        """The voices (pitches, lowest first) to sound under `ask.melody`, the state moved
        on; None when the constraints allow no voicing (the caller's rule answers)."""
        if ask.before is not None and list(ask.before) != self.chord:
            self._sounded(ask.before)
        if self.state is None:
            self.state = self.model.init_state(1)
        x = hm.features(
            np.array([ask.melody]),
            ask.tonic,
            ask.minor,
            np.array([self.previous_melody]),
            np.array([hm.beat_of(ask.onset_q)]),
            ask.voices,
            np.array([self.previous]),
        )
        logits, self.state = self.model.step(torch.from_numpy(x).to(self.state.h.device), self.state)
        self.previous_melody = ask.melody
        ok, pitches = self.allowed(ask)
        if not ok.any():
            self.previous, self.chord = len(self.count), []
            return None
        score = (logits[0].float().cpu().numpy().astype(np.float64) - self.cost(pitches, ask)) / max(
            ask.temperature, 1e-3
        )
        choice = nucleus_draw(np.where(ok, score, -np.inf), TOP_P, self.rng)
        chosen = sorted(int(p) for p in pitches[choice][self.present[choice]])
        self.previous, self.chord = choice, [ask.melody, *chosen]
        return chosen

    def _sounded(self, chord: tuple[int, ...]) -> None:
        """What sounded instead of the last chosen chord: the voice leading goes from it, and
        the model hears its voicing (when in the vocabulary and under the last melody note)."""
        self.chord = list(chord)
        melody, *voices = chord or (-1,)
        voicing = tuple(melody - p for p in sorted(voices))
        self.previous = (
            self.index.get(voicing, len(self.count)) if melody == self.previous_melody else len(self.count)
        )
