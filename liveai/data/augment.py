"""Augmentation of token windows at training time: transposition and tempo stretch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models import codec


def pitch_bounds(tokens: np.ndarray) -> tuple[int, int] | None:
    """(lowest, highest) pitch of note tokens, None if there are none."""
    t = tokens.astype(np.int64)
    notes = t[t < codec.TIME_SHIFT_OFFSET] % codec.N_PITCHES
    if notes.size == 0:
        return None
    return int(notes.min()), int(notes.max())


def transpose_tokens(tokens: np.ndarray, semitones: int) -> np.ndarray:
    """Shift every NOTE_ON/NOTE_OFF by `semitones`; raises if a pitch leaves 0..127."""
    t = tokens.astype(np.int64)
    is_note = t < codec.TIME_SHIFT_OFFSET
    pitch = t % codec.N_PITCHES + semitones
    if np.any(is_note & ((pitch < 0) | (pitch >= codec.N_PITCHES))):
        raise ValueError(f"transposition by {semitones} leaves the MIDI range")
    out = np.where(is_note, t - t % codec.N_PITCHES + pitch, t)
    return out.astype(tokens.dtype)


def clamp_transposition(tokens: np.ndarray, semitones: int) -> int:
    """The shift closest to `semitones` that keeps every note in 0..127."""
    b = pitch_bounds(tokens)
    if b is None:
        return semitones
    lo, hi = b
    return int(min(max(semitones, -lo), codec.N_PITCHES - 1 - hi))


def stretch_tokens(tokens: np.ndarray, factor: float) -> np.ndarray:
    """Scale every gap between events by `factor` (tempo change), re-quantised to
    the 10 ms grid without drift (cumulative times are rounded, not each gap)."""
    out: list[int] = []
    t_in = 0  # cumulative input steps
    t_out = 0  # cumulative output steps emitted
    pending = False
    for tok in tokens.tolist():
        if codec.is_time_shift(tok):
            t_in += codec.time_shift_steps(tok)
            pending = True
            continue
        if pending:
            target = int(round(t_in * factor))
            out.extend(codec.time_shift_tokens(target - t_out))
            t_out = max(t_out, target)
            pending = False
        out.append(tok)
    if pending:
        target = int(round(t_in * factor))
        out.extend(codec.time_shift_tokens(target - t_out))
    return np.asarray(out, dtype=tokens.dtype)


@dataclass(frozen=True, slots=True)
class Augment:
    transpose: tuple[int, int] = (-5, 6)  # inclusive semitone range
    stretch: tuple[float, float] = (0.9, 1.1)  # tempo factor range


def augment(tokens: np.ndarray, rng: np.random.Generator, aug: Augment = Augment()) -> np.ndarray:
    """A random transposition (clamped to the MIDI range) and tempo stretch."""
    semis = clamp_transposition(tokens, int(rng.integers(aug.transpose[0], aug.transpose[1] + 1)))
    out = transpose_tokens(tokens, semis) if semis else tokens
    factor = float(rng.uniform(*aug.stretch))
    return stretch_tokens(out, factor)
