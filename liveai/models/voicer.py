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
    n: tuple(np.array(side, dtype=np.int64) for side in zip(*combinations(range(n), 2))) for n in range(2, 5)
}
NONE = np.zeros(0, dtype=np.int64), np.zeros((0, 1), dtype=np.int64)


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
    """One session's harmony model state and last chord (not thread-safe: one thread).
    The voicings are grouped by voice count, consonant ones only: a chord is chosen
    among those of the count asked, each a row of pitches with no padding."""

    def __init__(self, model: hm.HarmonyModel, rng: np.random.Generator | None = None) -> None:
        self.model = model
        voicings = model.config.voicings
        self.none = len(voicings)  # the model's "no voicing before"
        self.index = {tuple(v): i for i, v in enumerate(voicings)}
        # (voicing indices (S,), intervals under the melody (S, n)) by voice count n; trained
        # vocabularies are consonant, any other checkpoint's clusters are never chosen
        self.groups: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for n in sorted({len(v) for v in voicings}):
            rows = [i for i, v in enumerate(voicings) if len(v) == n and consonant([0, *(-i for i in v)])]
            if rows:
                self.groups[n] = (np.array(rows), np.array([voicings[i] for i in rows], dtype=np.int64))
        self._in_key: dict[frozenset[int], np.ndarray] = {}
        self.rng = rng or np.random.default_rng()
        self.reset()

    def reset(self) -> None:
        """Forget what was played (a new phrase, a panic)."""
        self.state: hm.HarmonyState | None = None  # made at the first chord, on the worker (not the loop)
        self.previous = self.none
        self.previous_melody = -1
        self.chord: list[int] = []  # the melody and voices last sounded

    def allowed(self, ask: Ask, intervals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mask (S,), pitches (S, n)): which of a group's voicings the constraints allow,
        and where their voices sound, lowest first (after any octave moves when `ask.above`)."""
        pitches = ask.melody - intervals
        if ask.above and len(self.chord) > 1:
            up = pitches + 12
            before = np.array(self.chord[1:])
            closer = np.abs(up[..., None] - before).min(-1) < np.abs(pitches[..., None] - before).min(-1)
            # each voice moved on its own: sort the rows again (the cost pairs voices lowest
            # first) and drop the voicings where a voice landed on another (an octave pair)
            pitches = np.sort(np.where(closer & (up <= ask.high) & (up != ask.melody), up, pitches), axis=1)
            ok = (np.diff(pitches, axis=1) != 0).all(1)
            ok &= ((pitches >= ask.low) & (pitches <= ask.high)).all(1)
        else:
            ok = ((pitches >= ask.low) & (pitches <= ask.high)).all(1)
        if ask.held:
            ok &= ~(pitches[..., None] == np.array(list(ask.held))).any((1, 2))
        if ask.scale is not None:
            ok &= self._key_mask(ask.scale)[pitches % 12].all(1)
        return ok, pitches

    def _key_mask(self, scale: frozenset[int]) -> np.ndarray:
        mask = self._in_key.get(scale)
        if mask is None:
            mask = self._in_key[scale] = np.zeros(12, dtype=bool)
            mask[list(scale)] = True
        return mask

    def cost(self, pitches: np.ndarray, melody: int) -> np.ndarray | float:
        """(S,) voice-leading cost of each voicing of a group after the last chord."""
        if len(self.chord) < 2:
            return 0.0
        before = np.array(self.chord)  # melody first
        mean_motion = np.abs(pitches[..., None] - before[1:]).min(-1).mean(1)
        if len(before) != pitches.shape[1] + 1:  # parallels only against a chord of this size
            return LEADING * mean_motion
        return LEADING * mean_motion + PARALLELS * self._parallels(pitches, melody, before)

    @staticmethod
    def _parallels(pitches: np.ndarray, melody: int, before: np.ndarray) -> np.ndarray:
        """(S,) parallel perfect intervals against the last chord, of the same size."""
        i, j = PAIRS[len(before)]  # (P,) each: every pair of parts
        after = np.concatenate([np.full((len(pitches), 1), melody), pitches], axis=1)  # (S, n + 1)
        a, b = after[:, i] - before[i], after[:, j] - before[j]  # (S, P): how each part moved
        was = np.abs(before[i] - before[j]) % 12  # (P,)
        now = np.abs(after[:, i] - after[:, j]) % 12  # (S, P)
        return ((a != 0) & (b != 0) & ((a > 0) == (b > 0)) & ((was == 0) | (was == 7)) & (now == was)).sum(1)

    @torch.inference_mode()
    def voice(self, ask: Ask) -> list[int] | None:
        """The voices (pitches, lowest first) to sound under `ask.melody`, the state moved
        on; None when the constraints allow no voicing (the caller's rule answers)."""
        if ask.before is not None and list(ask.before) != self.chord:
            self._sounded(ask.before)
        if self.state is None:
            self.state = self.model.init_state(1)
        x = hm.feature_row(
            ask.melody,
            ask.tonic,
            ask.minor,
            self.previous_melody,
            hm.beat_of(ask.onset_q),
            ask.voices,
            self.previous,
        )
        device = self.state.h.device
        logits, self.state = self.model.step(torch.tensor([x], dtype=torch.long, device=device), self.state)
        self.previous_melody = ask.melody
        index, intervals = self.groups.get(ask.voices, NONE)
        ok, pitches = self.allowed(ask, intervals)
        if not ok.any():
            self.previous, self.chord = self.none, []
            return None
        score = logits[0].float().cpu().numpy()[index] - self.cost(pitches, ask.melody)
        score = np.where(ok, score.astype(np.float64) / max(ask.temperature, 1e-3), -np.inf)
        choice = nucleus_draw(score, TOP_P, self.rng)
        chosen = sorted(pitches[choice].tolist())
        self.previous, self.chord = int(index[choice]), [ask.melody, *chosen]
        return chosen

    def _sounded(self, chord: tuple[int, ...]) -> None:
        """What sounded instead of the last chosen chord: the voice leading goes from it, and
        the model hears its voicing (when in the vocabulary and under the last melody note)."""
        self.chord = list(chord)
        melody, *voices = chord or (-1,)
        voicing = tuple(melody - p for p in sorted(voices))
        self.previous = self.index.get(voicing, self.none) if melody == self.previous_melody else self.none
