"""Model jobs: generators the Worker steps on its thread (see liveai.runtime.worker).

Each yields tokens to feed and is sent the logits of the next token. Sampling happens
here, on the worker, with the session's Sampler: its note tracker and random generator
are only ever touched on that thread.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..core.jobs import PEEK, RESET, Job
from ..models import codec
from ..models.rhythm import Rhythm
from ..models.sampling import Constraints, Sampler, constraint_mask, nucleus_draw, sample_tokens
from ..models.tonality import KeyBalance

TOP_P = 0.95
STUCK_TOKENS = 24  # that many tokens with no note begun and no time passed: only a stuck model says them


def feed(tokens: list[int], sampler: Sampler) -> Job:
    """Feed played (or replayed) tokens; one step, or one prefill for several."""
    for token in tokens:
        sampler.observe(token)
    yield tokens if len(tokens) > 1 else tokens[0]
    return None


def end_notes(sampler: Sampler, keep: frozenset[int]) -> Job:
    """Note-offs for every pitch the model believes sounding but those in `keep`."""
    offs = [codec.note_off(p) for p in sorted(sampler.tracker.sounding - keep)]
    if offs:
        yield from feed(offs, sampler)
    return offs


def restart(sampler: Sampler, prime: list[int] | None = None) -> Job:
    """A fresh state (after panic), optionally primed again with recent tokens."""
    yield RESET
    sampler.tracker.sounding.clear()
    if prime:
        yield from feed(prime, sampler)
    return None


def harmony(
    sampler: Sampler,
    rng: np.random.Generator,
    pitches: list[int],
    voices: int,
    temperature: float,
    reply: Callable[[list[int]], None],
) -> Job:
    """Choose up to `voices` notes among `pitches` to sound with the note just fed.

    They are drawn together, one after the other without replacement, from the model's
    next-note distribution (chords are consecutive note-ons in the training data), so
    the answer costs no model step beyond the played note; `reply` answers, then the
    voices are fed in one go so the model hears its own chord."""
    logits = yield PEEK
    candidates = logits.numpy()[codec.NOTE_ON_OFFSET + np.asarray(pitches, dtype=np.int64)].astype(np.float64)
    chosen = [pitches[i] for i in choose(candidates, voices, temperature, TOP_P, rng)]
    reply(chosen)
    if chosen:
        yield from feed([codec.note_on(p) for p in chosen], sampler)
    return chosen


def choose(
    logits: np.ndarray, k: int, temperature: float, top_p: float, rng: np.random.Generator
) -> list[int]:
    """Up to `k` distinct indices, each drawn with temperature and top-p from what is left
    (in numpy: cheap when many sessions harmonize at once)."""
    scaled = logits / max(temperature, 1e-3)
    out: list[int] = []
    for _ in range(min(k, len(logits))):
        pick = nucleus_draw(scaled, top_p, rng)  # taken ones are at -inf: never drawn
        out.append(pick)
        scaled[pick] = -np.inf
    return out


def density_bias(bias: float) -> torch.Tensor:
    """(V,) logit offsets that make notes denser (bias > 0) or sparser (bias < 0): note-ons
    gain, time shifts lose, long ones most."""
    offsets = torch.zeros(codec.VOCAB_SIZE)
    offsets[codec.NOTE_ON_OFFSET : codec.NOTE_OFF_OFFSET] = bias / 2
    steps = torch.arange(1, codec.N_TIME_SHIFTS + 1, dtype=torch.float32)
    offsets[codec.TIME_SHIFT_OFFSET : codec.VELOCITY_OFFSET] = -bias * (0.5 + steps / codec.N_TIME_SHIFTS)
    return offsets


class _Staging:
    """The per-token mask, built on the host, moved to a GPU from one pinned buffer with
    no wait: the sampled token's read-back orders it before the buffer is written again."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.pinned: torch.Tensor | None = None
        self.on_device: torch.Tensor | None = None
        if device.type == "cuda":
            self.pinned = torch.empty(codec.VOCAB_SIZE, dtype=torch.bool).pin_memory()
            self.on_device = torch.empty(codec.VOCAB_SIZE, dtype=torch.bool, device=device)

    def move(self, allowed: torch.Tensor) -> torch.Tensor:
        if self.device.type == "cpu":
            return allowed
        if self.pinned is None or self.on_device is None:
            return allowed.to(self.device)
        self.pinned.copy_(allowed)
        return self.on_device.copy_(self.pinned, non_blocking=True)


def continuation(
    sampler: Sampler,
    constraints: Constraints,
    temperature: float,
    seconds: float,
    max_tokens: int,
    note_first: bool = False,
    bias: torch.Tensor | None = None,
    balance: KeyBalance | None = None,
    reply: Callable[[list[int]], None] | None = None,
    until_note: bool = False,
    rhythm: Rhythm | None = None,
) -> Job:
    """Sample what comes next for up to `seconds` of music or `max_tokens` tokens.

    `note_first`: nothing but a note may come first (an answer starts at once: the
    pause before it was the player's). `until_note`: stop once a note has begun (an
    answer's first chunk: its first note goes out while the rest is sampled). `bias` (V,) is added to the
    logits (how the
    autopilot steers its density); `balance` keeps an answer's notes in proportion to
    a key (see tonality.py); `rhythm` keeps its onsets on a grid (see rhythm.py).
    Every token is fed back."""
    logits = yield PEEK
    sampler.constraints = constraints
    tokens: list[int] = []
    steps, limit = 0, int(round(seconds / codec.TIME_STEP_S))
    waiting_for_note = note_first
    token: int | None = None
    staging = _Staging(logits.device)
    idle = 0  # tokens since time last moved or a note began
    while (
        steps < limit
        and len(tokens) < max_tokens
        and not (until_note and tokens and codec.is_note_on(tokens[-1]))
    ):
        if token is not None:
            logits = yield token  # feed the last token, get the next logits
        allowed = constraint_mask(constraints, sampler.tracker.sounding)
        if waiting_for_note:
            allowed[codec.TIME_SHIFT_OFFSET : codec.VELOCITY_OFFSET] = False
            allowed[codec.NOTE_OFF_OFFSET : codec.TIME_SHIFT_OFFSET] = False
        if rhythm is not None:
            rhythm.mask(allowed)
        if idle >= STUCK_TOKENS:  # a full chord and a note wanted leave only velocities to say: time moves on
            allowed[codec.VELOCITY_OFFSET : codec.START] = False
            allowed[codec.TIME_SHIFT_OFFSET : codec.VELOCITY_OFFSET] = True
        allowed = staging.move(allowed)  # one mask on the logits' device, for the lean and the sampling
        if bias is not None:
            logits = logits + bias
        if balance is not None:
            logits = logits + balance.offsets()
        if rhythm is not None:
            logits = rhythm.lean(logits / max(temperature, 1e-3), allowed) * max(temperature, 1e-3)
        token = int(
            sample_tokens(
                logits[None],
                temperature=temperature,
                top_p=TOP_P,
                allowed=allowed,
                generator=sampler.generator,
            )[0]
        )
        sampler.tracker.update(token)
        if balance is not None:
            balance.observe(token)
        if rhythm is not None:
            rhythm.observe(token)
        tokens.append(token)
        idle = 0 if codec.is_time_shift(token) or codec.is_note_on(token) else idle + 1
        if codec.is_time_shift(token):
            steps += codec.time_shift_steps(token)
        waiting_for_note = waiting_for_note and not codec.is_note_on(token)
    if reply is not None:
        reply(tokens)
    if token is not None:
        yield token  # the model hears its last token too, after the reply: the answer does not wait for it
    return tokens
