"""Performances of a score, drawn at training time: every window the models see is a
different way to play its notes, as people play on stage.

A `Style` says how to play: tempo (60-180 BPM) with slow drift and rubato, swing,
onset jitter, articulation from staccato through legato to overlapping legato (the
next note begins 10-80 ms before the last ends), chords spread over a few ms as a hand
plays them, and a velocity style (constant as a patch sends, humanised, phrase
dynamics, accents). `random_style` draws one; `VARIATIONS` are fixed ones the
robustness evaluation applies one at a time. Played MIDI (POP909) is kept as played,
with its tempo stretched and, sometimes, its velocity made constant (`restyle`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..music.note import Note

VELOCITY_STYLES = ("constant", "humanised", "phrase", "accents")
CONSTANT_VELOCITIES = (64, 80, 90, 100, 100, 100, 110, 127)  # 100 is what most patches send


@dataclass(frozen=True)
class Style:
    bpm: float = 100.0
    drift: float = 0.0  # amplitude of a slow tempo wave, as a fraction of the tempo
    drift_period_q: float = 16.0  # its period in quarter notes
    rubato: float = 0.0  # sd of a per-beat random walk of the tempo, as a fraction
    swing: float = 0.0  # off-beat eighths delayed by this fraction of a quarter (1/6 = triplet swing)
    jitter_s: float = 0.0  # sd of each onset's timing error
    articulation: float = 0.9  # sounding fraction of the written length
    overlap_s: float = 0.0  # legato past the written end (overlapping legato)
    chord_spread_s: float = 0.0  # the notes of a chord begin this far apart, in all
    velocity: str = "humanised"  # one of VELOCITY_STYLES
    level: int = 72  # the dynamic level (constant: the velocity itself)


# Each variation of the robustness table: one property changed from the canonical rendering.
CANONICAL = Style()
VARIATIONS: dict[str, Style] = {
    "constant velocity": replace(CANONICAL, velocity="constant", level=100),
    "legato": replace(CANONICAL, articulation=1.0),
    "overlapping legato": replace(CANONICAL, articulation=1.0, overlap_s=0.05),
    "staccato": replace(CANONICAL, articulation=0.4),
    "60 BPM": replace(CANONICAL, bpm=60.0),
    "90 BPM": replace(CANONICAL, bpm=90.0),
    "140 BPM": replace(CANONICAL, bpm=140.0),
    "180 BPM": replace(CANONICAL, bpm=180.0),
}


def random_style(rng: np.random.Generator) -> Style:
    """A way to play, drawn over the range liveai meets on stage."""
    kind = rng.choice(["staccato", "detached", "legato", "overlapping"], p=[0.2, 0.3, 0.3, 0.2])
    articulation = {
        "staccato": rng.uniform(0.4, 0.65),
        "detached": rng.uniform(0.65, 0.92),
        "legato": rng.uniform(0.92, 1.0),
        "overlapping": 1.0,
    }[kind]
    velocity = str(rng.choice(VELOCITY_STYLES, p=[0.3, 0.3, 0.2, 0.2]))
    level = int(rng.choice(CONSTANT_VELOCITIES)) if velocity == "constant" else int(rng.integers(48, 100))
    return Style(
        bpm=float(np.exp(rng.uniform(np.log(60.0), np.log(180.0)))),
        drift=float(rng.uniform(0.0, 0.08)),
        drift_period_q=float(rng.uniform(8.0, 32.0)),
        rubato=float(rng.choice([0.0, rng.uniform(0.0, 0.04)])),
        swing=float(rng.choice([0.0, 0.0, rng.uniform(0.05, 1 / 6)])),
        jitter_s=float(rng.uniform(0.0, 0.012)),
        articulation=float(articulation),
        overlap_s=float(rng.uniform(0.01, 0.08)) if kind == "overlapping" else 0.0,
        chord_spread_s=float(rng.choice([0.0, rng.uniform(0.003, 0.025)])),
        velocity=velocity,
        level=level,
    )


def perform(rows: np.ndarray, style: Style, rng: np.random.Generator) -> list[Note]:
    """Timed notes from score rows (onset, length, beat strength, pitch; quarter notes)."""
    rows = rows[rows[:, 1] > 0]  # grace notes carry no written duration
    if len(rows) == 0:
        return []
    onset_q = rows[:, 0] - rows[:, 0].min()
    end_q = onset_q + rows[:, 1]
    strength, pitch = rows[:, 2], rows[:, 3].astype(np.int64)
    clock = _tempo_map(float(end_q.max()), style, rng)
    on, written_end = clock(_swung(onset_q, style.swing)), clock(_swung(end_q, style.swing))
    length = np.maximum((written_end - on) * style.articulation + style.overlap_s, 0.02)
    start = on + _onset_offsets(onset_q, pitch, style, rng)
    start = np.maximum(start - start.min(), 0.0)
    end = start + length
    velocity = _velocities(onset_q, strength, style, rng)
    order = np.lexsort((pitch, start))
    return [Note(float(start[i]), float(end[i]), int(pitch[i]), int(velocity[i])) for i in order]


def restyle(notes: list[Note], rng: np.random.Generator) -> list[Note]:
    """Played notes as another night's performance: tempo stretched by 0.8-1.25 and,
    a quarter of the time, one velocity throughout (as a patch replaying them)."""
    if not notes:
        return []
    factor = float(np.exp(rng.uniform(np.log(0.8), np.log(1.25))))
    constant = int(rng.choice(CONSTANT_VELOCITIES)) if rng.random() < 0.25 else None
    t0 = notes[0].start
    return [
        Note((n.start - t0) * factor, (n.end - t0) * factor, n.pitch, constant or n.velocity) for n in notes
    ]


def _swung(q: np.ndarray, swing: float) -> np.ndarray:
    """Off-beat eighths (and what ends on them) later by `swing` quarters."""
    if swing <= 0:
        return q
    beat = np.floor(q + 1e-6)
    frac = q - beat
    # piecewise linear within the beat: 0 -> 0, 0.5 -> 0.5 + swing, 1 -> 1
    return beat + np.where(
        frac <= 0.5, frac * (0.5 + swing) / 0.5, 0.5 + swing + (frac - 0.5) * (0.5 - swing) / 0.5
    )


def _tempo_map(length_q: float, style: Style, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    """Seconds at each position in quarters: the tempo waves slowly and walks beat by
    beat; positions between beats are interpolated."""
    beats = int(np.ceil(length_q)) + 2
    k = np.arange(beats)
    factor = 1.0 + style.drift * np.sin(2 * np.pi * k / style.drift_period_q + rng.uniform(0, 2 * np.pi))
    if style.rubato > 0:
        walk = np.cumsum(rng.normal(0.0, style.rubato, beats))
        factor *= np.exp(walk - walk.mean())  # wanders, but keeps the tempo on average
    seconds_per_beat = 60.0 / (style.bpm * np.clip(factor, 0.5, 2.0))
    at_beat = np.concatenate([[0.0], np.cumsum(seconds_per_beat)])  # (beats + 1,)
    return lambda q: np.interp(q, np.arange(beats + 1), at_beat)


def _onset_offsets(
    onset_q: np.ndarray, pitch: np.ndarray, style: Style, rng: np.random.Generator
) -> np.ndarray:
    """Timing error per onset, and a chord's notes spread upwards or downwards."""
    offsets = rng.normal(0.0, style.jitter_s, len(onset_q)) if style.jitter_s > 0 else np.zeros(len(onset_q))
    if style.chord_spread_s > 0:
        _, chord = np.unique(np.round(onset_q, 4), return_inverse=True)
        upward = rng.random() < 0.7  # most players roll a chord from the bass
        for c in np.unique(chord):
            members = np.flatnonzero(chord == c)
            if len(members) > 1:
                ranked = members[np.argsort(pitch[members] if upward else -pitch[members])]
                offsets[ranked] += np.linspace(0.0, style.chord_spread_s, len(ranked))
    return offsets


def _velocities(
    onset_q: np.ndarray, strength: np.ndarray, style: Style, rng: np.random.Generator
) -> np.ndarray:
    n = len(onset_q)
    if style.velocity == "constant":
        return np.full(n, style.level)
    if style.velocity == "accents":
        base = style.level + np.where(strength >= 1.0, 22, np.where(strength >= 0.5, 8, 0))
        noise = rng.normal(0.0, 2.0, n)
    elif style.velocity == "phrase":
        # crescendo and diminuendo: a level that moves linearly between random targets every 4-16 beats
        span = float(onset_q.max()) + 1.0
        knots = np.concatenate([[0.0], np.cumsum(rng.uniform(4.0, 16.0, int(span / 4) + 2))])
        targets = style.level + rng.uniform(-28.0, 28.0, len(knots))
        base = np.interp(onset_q, knots, targets) + np.where(strength >= 1.0, 5, 0)
        noise = rng.normal(0.0, 3.0, n)
    else:  # humanised, as the canonical rendering: a level for the piece, accents, and
        # noise drawn once per onset, so a chord shares one velocity (as a player's hand)
        level = style.level + int(rng.integers(-16, 17))
        base = level + np.where(strength >= 1.0, 10, np.where(strength >= 0.5, 5, 0))
        _, onset = np.unique(np.round(onset_q, 4), return_inverse=True)
        noise = rng.normal(0.0, 3.0, int(onset.max()) + 1)[onset]
    return np.clip(np.round(base + noise), 1, 127).astype(np.int64)
