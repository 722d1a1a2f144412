"""The renderer: the compiled matrix-product step plays what the network's own
convolutions play, block by block; reset restarts bit-identically."""

from __future__ import annotations

import numpy as np
import torch

from liveai.audio.features import LIVEAI
from liveai.audio.renderer import SynthRenderer, render_notes
from liveai.models.synth import SynthConfig, SynthNet
from liveai.music.note import Note

NOTES = [Note(0.01 * i, 0.01 * i + 0.2, 50 + 3 * i, 60 + 5 * i) for i in range(12)]


def net() -> SynthNet:
    torch.manual_seed(3)
    return SynthNet(SynthConfig(channels=8, skip=6, dilations=(1, 2, 4, 8, 16, 32))).eval()


def test_the_compiled_step_plays_what_the_convolutions_play() -> None:
    model = net()
    compiled = render_notes(SynthRenderer(model, scripted=True), NOTES, block=256)
    eager = render_notes(SynthRenderer(model, scripted=False), NOTES, block=777)
    assert compiled.shape == eager.shape == (round((0.11 + 0.2 + 0.5) * 48_000),)
    assert np.abs(compiled - eager).max() < 1e-5


def test_reset_restarts_bit_identically() -> None:
    renderer = SynthRenderer(net())
    first = render_notes(renderer, NOTES)
    renderer.render(5000, [(0, 70, 100, LIVEAI)])  # something else in between
    assert np.array_equal(render_notes(renderer, NOTES), first)
