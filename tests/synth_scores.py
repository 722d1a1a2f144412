"""The synth's scores on one clip, as scripts/eval_synth.py computes them: every
system's distances from the reference (liveai.audio.quality)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from liveai.audio.quality import distances, systems_of
from liveai.models.synth import SynthConfig
from liveai.music.note import Note


def score_clip(
    notes: Sequence[Note], reference: np.ndarray, model_audio: np.ndarray, config: SynthConfig
) -> dict[str, dict[str, float]]:
    """{system: {"mrstft", "lsd_db"}} on one clip (`systems_of`)."""
    reference = np.asarray(reference, dtype=np.float32)
    return {
        name: distances(audio, reference)
        for name, audio in systems_of(notes, reference, model_audio, config).items()
    }
