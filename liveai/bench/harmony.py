"""Harmonizers scored by one code (the harmony model's card, scripts/eval_harmony.py).

Each harmonizer voices a piece's melody note by note, as harmonize does live with the
piece's key set (`/liveai/key`): the rule (intervals of the scale), the continuation
model (today's `harmonize.by = "continuation"`: the GRU's next-note choice driven by
the live job, liveai.behaviours.jobs.harmony), and the harmony model (its Voicer).
`score` measures consonance, agreement with the real voicing, voice leading and
diversity on what they played, and counts the notes the rule voiced for the model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..behaviours import jobs
from ..behaviours.rule_harmonize import voices_for
from ..config import HarmonizeConfig
from ..data.harmony import HarmonyPiece
from ..models import codec
from ..models.base import ContinuationModel
from ..models.harmony import HarmonyModel
from ..models.sampling import Sampler
from ..models.voicer import Ask, Voicer
from ..music.scales import KEY_PITCH_CLASS, scale_of
from ..music.voicing import consonant, motion, parallels, pitch_class_share
from ..runtime.inline import InlinePort

SECONDS_PER_QUARTER = 0.6  # the melody played at 100 BPM
LOW, HIGH = HarmonizeConfig.low, HarmonizeConfig.high
Harmonizer = Callable[[HarmonyPiece, int], list[list[int]]]  # (piece, voices) -> voices per melody note


class RuleVoices(list[int]):
    """The rule's voices where the harmony model had no allowed voicing (counted by `score`)."""


def key_of(piece: HarmonyPiece) -> tuple[str, str]:
    """The piece's key as /liveai/key names it."""
    name = next(k for k, pc in KEY_PITCH_CLASS.items() if pc == piece.tonic)
    return name, "minor" if piece.minor else "major"


def rule(piece: HarmonyPiece, voices: int) -> list[list[int]]:
    key, scale = key_of(piece)
    config = HarmonizeConfig(key=key, scale=scale)
    return [voices_for(config, int(m), key, scale) for m in piece.melody]


def with_model(model: HarmonyModel, seed: int = 0, onsets: bool = False) -> Harmonizer:
    """The harmony model's harmonizer (`onsets`: the beat known, as under a running clock)."""

    def harmonize(piece: HarmonyPiece, voices: int) -> list[list[int]]:
        key, scale = key_of(piece)
        voicer = Voicer(model, np.random.default_rng(seed))
        pcs = scale_of(key, scale).pitch_classes
        out = []
        for m, q in zip(piece.melody, piece.onset_q):
            chosen = voicer.voice(
                Ask(
                    int(m),
                    piece.tonic,
                    piece.minor,
                    voices,
                    pcs,
                    LOW,
                    HIGH,
                    False,
                    float(q) if onsets else None,
                    1.0,
                )
            )
            out.append(
                chosen
                if chosen is not None
                else RuleVoices(voices_for(HarmonizeConfig(key=key, scale=scale), int(m), key, scale))
            )
        return out

    return harmonize


def with_continuation(model: ContinuationModel, seed: int = 0) -> Harmonizer:
    """Today's model harmonizer: the live job on the continuation model, fed as the listener feeds it."""

    def harmonize(piece: HarmonyPiece, voices: int) -> list[list[int]]:
        key, scale = key_of(piece)
        port = InlinePort(model)  # the worker's job driver, inline, on this piece's own state

        def run(job: Any) -> Any:
            result: list[Any] = []
            port.submit("piece", job, result.append)
            port.flush()
            return result[0]

        sampler, rng = Sampler(seed=seed), np.random.default_rng(seed)
        encoder = codec.StreamingEncoder()
        pcs = scale_of(key, scale)
        out: list[list[int]] = []
        onsets = [float(q) * SECONDS_PER_QUARTER for q in piece.onset_q]
        for k, (m, t) in enumerate(zip(piece.melody, onsets)):
            m = int(m)
            run(jobs.feed(encoder.feed("on", m, 80, t), sampler))
            candidates = [p for p in range(LOW, HIGH + 1) if p in pcs and p != m and abs(p - m) <= 19]
            chosen = run(jobs.harmony(sampler, rng, candidates, voices, 1.0, lambda v: None))
            for p in chosen:
                encoder.observe(codec.note_on(p), t)
            out.append(sorted(chosen))
            end = onsets[k + 1] - 0.05 if k + 1 < len(onsets) else t + 0.5
            offs = [tok for p in [m, *chosen] for tok in encoder.feed("off", p, 0, max(end, t + 0.01))]
            if offs:
                run(jobs.feed(offs, sampler))
        return out

    return harmonize


def score(pieces: Sequence[HarmonyPiece], chords: Sequence[list[list[int]]]) -> dict[str, float]:
    """The card's figures over pieces and the voices played at each melody note."""
    n = consonant_n = matched = real_n = moved_n = parallel_n = fallbacks = 0
    moved = 0.0
    distinct: list[float] = []
    for piece, played in zip(pieces, chords):
        seen = set()
        previous: list[int] | None = None
        for m, real, voices in zip(piece.melody, piece.real, played):
            m = int(m)
            chord = [m, *sorted(voices)]
            n += 1
            fallbacks += isinstance(voices, RuleVoices)
            consonant_n += consonant(chord)
            hit, total = pitch_class_share([int(p) for p in real if p >= 0], voices)
            matched, real_n = matched + hit, real_n + total
            if previous is not None and voices and len(previous) > 1:
                moved += motion(previous[1:], voices)
                moved_n += 1
                parallel_n += parallels(previous, chord)
            seen.add(tuple(m - p for p in sorted(voices)))
            previous = chord
        if len(played):
            distinct.append(100.0 * len(seen) / len(played))
    return {
        "chords": n,
        "consonance": consonant_n / max(n, 1),
        "agreement": matched / max(real_n, 1),
        "motion_semitones": moved / max(moved_n, 1),
        "parallels_per_100": 100.0 * parallel_n / max(n, 1),
        "distinct_per_100": float(np.mean(distinct)) if distinct else 0.0,
        "rule_fallbacks": fallbacks,
    }
