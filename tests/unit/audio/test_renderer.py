"""The renderer: the compiled matrix-product step plays what the network's own
convolutions play, block by block; reset restarts bit-identically."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from streaming import one_pole_high_pass

from liveai.audio.features import LIVEAI
from liveai.audio.renderer import SynthRenderer, render_notes
from liveai.models.synth import SynthConfig, SynthNet
from liveai.music.note import Note

NOTES = [Note(0.01 * i, 0.01 * i + 0.2, 50 + 3 * i, 60 + 5 * i) for i in range(12)]


def net(linear: bool = False) -> SynthNet:
    torch.manual_seed(3)
    features = 7 if linear else 4
    return SynthNet(
        SynthConfig(channels=8, skip=6, dilations=(1, 2, 4, 8, 16, 32), features=features, linear=linear)
    ).eval()


@pytest.mark.parametrize("linear", [False, True])
def test_the_compiled_step_plays_what_the_convolutions_play(linear: bool) -> None:
    model = net(linear)
    compiled = render_notes(SynthRenderer(model, scripted=True), NOTES, block=256)
    eager = render_notes(SynthRenderer(model, scripted=False), NOTES, block=777)
    assert compiled.shape == eager.shape == (round((0.11 + 0.2 + 0.5) * 48_000),)
    assert np.abs(compiled - eager).max() < 1e-5


def test_reset_restarts_bit_identically() -> None:
    renderer = SynthRenderer(net())
    first = render_notes(renderer, NOTES)
    renderer.render(5000, [(0, 70, 100, LIVEAI)])  # something else in between
    assert np.array_equal(render_notes(renderer, NOTES), first)


def test_silence_at_rest_is_not_computed_and_sounds_as_computed() -> None:
    """Idle costs nothing: once the network has heard only silence for its receptive
    field, a silent block is its constant output, not a run of the network; and it is
    the same samples the network gives (streaming equals offline, any block size)."""
    model = net()
    gaps = [
        Note(0.0, 0.05, 60, 100),
        Note(0.3, 0.32, 67, 90),
        Note(0.33, 0.4, 64, 80),
        Note(0.9, 1.0, 72, 100),
    ]
    computed = SynthRenderer(model, scripted=False)
    computed.reach = 10**12  # never at rest: every block through the network
    everything = render_notes(computed, gaps, block=256)
    for block in (64, 256, 4096):
        renderer = SynthRenderer(model, scripted=False)
        got = render_notes(renderer, gaps, block=block)
        assert np.abs(got - everything).max() < 1e-6, block
        if block < 4096:
            assert renderer.skipped > 0, block  # the long gaps were not computed
    assert computed.skipped == 0


def test_an_idle_block_runs_no_network() -> None:
    renderer = SynthRenderer(net(), scripted=False)
    steps = []
    step = renderer.step
    renderer.step = lambda feats, pasts: steps.append(1) or step(feats, pasts)  # type: ignore[assignment]
    renderer.render(256, [(0, 60, 100, LIVEAI), (10, 60, 0, LIVEAI)])
    while renderer.skipped == 0:  # the release, then silence until the network is at rest
        renderer.render(256)
        assert len(steps) < 40
    ran = len(steps)
    for _ in range(100):
        renderer.render(256)
    assert len(steps) == ran and renderer.skipped == 101
    renderer.render(256, [(0, 64, 100, LIVEAI)])  # a note: the network plays again
    assert len(steps) == ran + 1


class Bypass:
    """No DC blocker: the network's own output."""

    def process(self, block: np.ndarray) -> np.ndarray:
        return block

    def reset(self) -> None:
        pass


def test_what_it_plays_is_the_network_through_the_dc_blocker_in_any_blocks() -> None:
    """The renderer's output is the network's through the one-pole high-pass, sample by
    sample, whatever the blocks (the blocker's state is streamed with the rest), and a
    reset restarts the blocker too."""
    model = net()  # the first form: its silence is a constant near zero, an offset
    bare = SynthRenderer(model, scripted=False)
    bare.blocker = Bypass()  # type: ignore[assignment]
    expected = one_pole_high_pass(render_notes(bare, NOTES, block=256))
    renderer = SynthRenderer(model, scripted=False)
    for block in (64, 4096, 256):
        got = render_notes(renderer, NOTES, block=block)
        assert np.abs(got - expected).max() < 1e-5, block
