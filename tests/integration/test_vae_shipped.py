"""The shipped morph VAE, as the server loads it (int8 on a CPU): it gives back fixed
phrases from their latents, and a morph path between two of them leaves one and reaches
the other. The card (models/README.md) states 0.86 of steps over the whole test split."""

from __future__ import annotations

import pytest
import torch

from liveai.config import Config
from liveai.models import melody
from liveai.runtime.loading import load_morph

H, R = melody.HOLD, melody.REST


def _notes(pitches: list[int | None], length: int) -> list[int]:
    out: list[int] = []
    for p in pitches:
        out += [R] * length if p is None else [p] + [H] * (length - 1)
    return out


PHRASES = {
    "scale": _notes([60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62, 60, None], 2),
    "ode to joy": _notes([64, 64, 65, 67, 67, 65, 64, 62], 4),
    "twinkle": _notes([60, 60, 67, 67, 69, 69, 67, None], 4),
    "arpeggio": _notes([60, 64, 67, 72, 67, 64, 60, None, 57, 60, 64, 69, 64, 60, 57, None], 2),
    "a minor, off the beat": _notes(
        [69, None, 72, 71, 69, 68, 69, None, 76, None, 74, 72, 71, 69, 71, None], 2
    ),
    "dotted": [67, H, H, 65, 64, H, H, 62, 60, H, H, H, R, R, R, R] * 2,
}


@pytest.fixture(scope="module")
def vae():
    model = load_morph(Config())
    assert model is not None, "the shipped models/vae.pt is missing"
    return model


def _accuracy(decoded: torch.Tensor, phrase: list[int]) -> float:
    return float((decoded == torch.tensor(phrase)).float().mean())


def test_decoding_a_phrases_latent_gives_it_back(vae):
    with torch.inference_mode():
        mu, _ = vae.encode(torch.tensor(list(PHRASES.values())))
        decoded = vae.decode(mu)
    accuracy = {name: _accuracy(row, phrase) for (name, phrase), row in zip(PHRASES.items(), decoded)}
    assert sum(accuracy.values()) / len(accuracy) >= 0.85, accuracy  # 0.92 when written
    assert min(accuracy.values()) >= 0.5, accuracy


def test_a_morph_grid_leaves_a_and_reaches_b(vae):
    a, b = PHRASES["scale"], PHRASES["twinkle"]
    with torch.inference_mode():
        mu, _ = vae.encode(torch.tensor([a, b]))
    grid = vae.decode_points(mu[0], mu[1], torch.linspace(0, 1, 17).tolist(), a, b, Config().morph.lean)
    to_a = [1 - _accuracy(torch.tensor(p), a) for p in grid]
    to_b = [1 - _accuracy(torch.tensor(p), b) for p in grid]
    assert to_a[0] <= 0.1 and to_b[-1] <= 0.1  # the ends decode to (nearly) the phrases
    apart = 1 - _accuracy(torch.tensor(a), b)
    assert to_a[-1] >= 0.8 * apart and to_b[0] >= 0.8 * apart  # and the path goes from one to the other
    changes = [1 - _accuracy(torch.tensor(p), q) for p, q in zip(grid, grid[1:])]
    # not wandering far from the way: 2.2 times the distance when written, 6.7 decoding
    # each point on its own (morph.lean = 0); and no one jump: the largest step 0.22 of
    # the steps when written, 0.44 with lean 0
    assert sum(changes) <= 3 * apart, changes
    assert max(changes) <= 0.3, changes
