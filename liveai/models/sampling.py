"""Sampling with temperature, top-p and hard constraints applied as logit masks.

A constraint sets a token's logit to -inf before the softmax, so the token has
probability exactly 0 and can never be drawn, whatever the model prefers. TIME_SHIFT
tokens inside [min, max] are always allowed, so there is always something to sample.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

from liveai.models import codec


@dataclass(frozen=True)
class Constraints:
    pitch_low: int = 0  # lowest allowed NOTE_ON pitch
    pitch_high: int = 127  # highest allowed NOTE_ON pitch
    pitch_classes: frozenset[int] | None = None  # allowed pitch classes (0 = C), None = all
    max_polyphony: int | None = None  # no NOTE_ON while this many notes sound
    min_time_shift_ms: int = 10
    max_time_shift_ms: int = 1000
    only_sounding_note_offs: bool = True  # a NOTE_OFF for a silent pitch is a no-op; forbid it

    def __post_init__(self) -> None:
        if not 0 <= self.pitch_low <= self.pitch_high <= 127:
            raise ValueError(
                f"need 0 <= pitch_low <= pitch_high <= 127, got {self.pitch_low}..{self.pitch_high}"
            )
        step_ms = int(round(codec.TIME_STEP_S * 1000))
        if not any(
            self.min_time_shift_ms <= s * step_ms <= self.max_time_shift_ms
            for s in range(1, codec.N_TIME_SHIFTS + 1)
        ):
            raise ValueError(
                f"time shift interval {self.min_time_shift_ms}..{self.max_time_shift_ms} ms "
                "holds no 10 ms step within 10..1000 ms"
            )
        if self.pitch_classes is not None and not any(
            p % 12 in self.pitch_classes for p in range(self.pitch_low, self.pitch_high + 1)
        ):
            raise ValueError("no pitch in the range belongs to the allowed pitch classes")
        if self.max_polyphony is not None and self.max_polyphony < 1:
            raise ValueError("max_polyphony must be >= 1")


class NoteTracker:
    """Pitches sounding in a token stream (for polyphony and note-off constraints)."""

    def __init__(self) -> None:
        self.sounding: set[int] = set()

    def update(self, token: int) -> None:
        token = int(token)
        if codec.is_note_on(token):
            self.sounding.add(codec.token_pitch(token))
        elif codec.is_note_off(token):
            self.sounding.discard(codec.token_pitch(token))


@functools.lru_cache(maxsize=64)
def _static_mask(c: Constraints) -> torch.Tensor:
    """Allowed tokens that do not depend on what is sounding. (V,) bool; cached, so
    callers must copy before changing it."""
    allowed = torch.zeros(codec.VOCAB_SIZE, dtype=torch.bool)
    for p in range(c.pitch_low, c.pitch_high + 1):
        if c.pitch_classes is None or p % 12 in c.pitch_classes:
            allowed[codec.note_on(p)] = True
    step_ms = int(round(codec.TIME_STEP_S * 1000))
    for s in range(1, codec.N_TIME_SHIFTS + 1):
        if c.min_time_shift_ms <= s * step_ms <= c.max_time_shift_ms:
            allowed[codec.time_shift(s)] = True
    allowed[codec.VELOCITY_OFFSET : codec.START] = True
    if not c.only_sounding_note_offs:
        allowed[codec.NOTE_OFF_OFFSET : codec.TIME_SHIFT_OFFSET] = True
    # START and PAD stay forbidden: the model must never emit them.
    return allowed


def constraint_mask(c: Constraints, sounding: Iterable[int] = ()) -> torch.Tensor:
    """(V,) bool, True where a token may be sampled given the sounding pitches."""
    allowed = _static_mask(c).clone()
    sounding = list(sounding)
    if c.max_polyphony is not None and len(sounding) >= c.max_polyphony:
        allowed[codec.NOTE_ON_OFFSET : codec.NOTE_OFF_OFFSET] = False
    if c.only_sounding_note_offs and sounding:
        allowed[[codec.note_off(p) for p in sounding]] = True
    return allowed


def nucleus_draw(score: np.ndarray, top_p: float, rng: np.random.Generator) -> int:
    """One index from the nucleus (the most likely until top_p of the mass) of
    softmax(score); -inf scores are never drawn. On a few dozen to a few hundred
    options numpy is several times cheaper than torch's per-op overhead; the draw inverts
    the cumulative distribution itself (Generator.choice with weights costs more)."""
    probs = np.exp(score - score.max())
    order = np.argsort(-probs, kind="stable")  # equal scores drawn in a set order
    cumulative = np.cumsum(probs[order])
    size = int(np.searchsorted(cumulative, top_p * cumulative[-1])) + 1
    return int(order[np.searchsorted(cumulative[:size], rng.random() * cumulative[size - 1], side="right")])


def sample_tokens(
    logits: torch.Tensor,
    *,
    temperature: float = 1.0,
    top_p: float = 1.0,
    allowed: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """logits (B, V), allowed (B, V) or (V,) bool -> tokens (B,).

    temperature 0 means greedy (argmax of the allowed tokens)."""
    logits = logits.float()
    if allowed is not None:
        if allowed.device != logits.device:  # best built there (a copy per call waits on a GPU)
            allowed = allowed.to(logits.device)
        logits = logits.masked_fill(~allowed, float("-inf"))
    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits / temperature, dim=-1)  # (B, V)
    if top_p < 1.0:
        sorted_p, idx = probs.sort(dim=-1, descending=True)
        cum = sorted_p.cumsum(dim=-1)
        drop = cum - sorted_p >= top_p  # tokens entirely beyond the nucleus; the top one stays
        sorted_p = sorted_p.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, idx, sorted_p)
    return torch.multinomial(probs, 1, generator=generator)[:, 0]


class Sampler:
    """One session's sampler: constraints + its own note tracker + seeded generator."""

    def __init__(
        self,
        constraints: Constraints | None = None,
        *,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.constraints = constraints or Constraints()
        self.temperature = temperature
        self.top_p = top_p
        self.tracker = NoteTracker()
        self.generator = torch.Generator(device=device)
        if seed is not None:
            self.generator.manual_seed(seed)
        else:
            self.generator.seed()

    def allowed(self) -> torch.Tensor:
        return constraint_mask(self.constraints, self.tracker.sounding)

    def observe(self, token: int) -> None:
        """Account for a token fed to the model that this sampler did not draw (played input)."""
        self.tracker.update(token)

    def sample(self, logits: torch.Tensor) -> int:
        """logits (V,) or (1, V) -> one token, recorded in the tracker."""
        row = logits.reshape(1, -1)
        tok = int(
            sample_tokens(
                row,
                temperature=self.temperature,
                top_p=self.top_p,
                allowed=self.allowed(),
                generator=self.generator,
            )[0]
        )
        self.tracker.update(tok)
        return tok
