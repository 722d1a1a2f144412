"""Keeping an answer in the player's key: not only in its scale (a constraint) but
sounding like it, with the weight of each degree a listener expects.

A fixed lean towards the tonic makes a small model harp on one note; a scale alone lets
it drift to the relative major or minor (same notes, other centre). `KeyBalance` is a
feedback lean instead: each pitch class is pulled by how far the answer's share of it
is from the key's Krumhansl-Kessler profile, so under-used degrees are drawn in and
over-used ones pushed back.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..music.note import Note
from ..music.tonality import (
    MAJOR_PROFILE,
    MINOR_PROFILE,
    estimate_key,
    key_pitch_classes,
)
from . import codec

PRIOR_NOTES = 4.0  # the profile counts as this many notes already played: gentle at first
MAX_PULL = 3.0  # |logit offset| per pitch class, however lopsided the answer so far


class KeyBalance:
    """(V,) logit offsets for note-ons, updated as the answer's own notes are sampled.
    Only touched on the model worker thread (by the jobs of one answer)."""

    def __init__(self, tonic: int, mode: str, pull: float) -> None:
        profile = np.roll(MAJOR_PROFILE if mode == "major" else MINOR_PROFILE, tonic)
        self.target = profile / profile.sum()  # (12,) share of each pitch class
        self.counts = self.target * PRIOR_NOTES
        self.pull = pull
        self._pitch_class = torch.arange(128) % 12
        self._offsets: torch.Tensor | None = None

    def offsets(self) -> torch.Tensor:
        if self._offsets is None:
            share = self.counts / self.counts.sum()
            overuse = np.clip(np.log(share / self.target), 0.0, None)
            lean = np.clip(self.pull * (np.log(self.target) - overuse), -MAX_PULL * self.pull, None)
            lean -= np.log(np.mean(np.exp(lean)))  # as many notes as before, other ones
            offsets = torch.zeros(codec.VOCAB_SIZE)
            offsets[codec.NOTE_ON_OFFSET : codec.NOTE_OFF_OFFSET] = torch.from_numpy(lean).float()[
                self._pitch_class
            ]
            self._offsets = offsets
        return self._offsets

    def observe(self, token: int) -> None:
        if codec.is_note_on(token):
            self.counts[(token - codec.NOTE_ON_OFFSET) % 12] += 1.0
            self._offsets = None


def follow_key(
    notes: Sequence[Note], pull: float, emphasis: Sequence[float] | None = None
) -> tuple[frozenset[int] | None, KeyBalance | None]:
    """How a continuation keeps the key of `notes` (the duet live, `liveai generate`
    offline): the pitch classes of its scale, to constrain sampling, and with pull > 0
    a balance of its degrees. `emphasis` weights each note's say (the latest phrase
    most: `music.tonality.phrase_emphasis`). (None, None) without notes."""
    key = estimate_key(notes, emphasis)
    if key is None:
        return None, None
    # the seventh used lately
    heard = [n for i, n in enumerate(notes) if emphasis is None or emphasis[i] >= 1.0]
    played = frozenset(n.pitch % 12 for n in heard)
    return key_pitch_classes(key, played), KeyBalance(key.tonic, key.mode, pull) if pull > 0 else None
