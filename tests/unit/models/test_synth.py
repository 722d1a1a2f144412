"""The synth network streams: any blocks give the offline signal; reset is silence
again; it is causal with the delay it declares."""

from __future__ import annotations

import pytest
import torch
from streaming import assert_streams_like_offline, stream

from liveai.models.synth import Streamer, SynthConfig, SynthNet

SR = 48_000


@pytest.fixture(scope="module")
def net() -> SynthNet:
    torch.manual_seed(0)
    return SynthNet(SynthConfig(channels=8, skip=8, dilations=(1, 2, 4, 8, 16, 32, 64))).eval()


def features(t: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(1, 4, t, generator=torch.Generator().manual_seed(seed))


def test_streaming_equals_offline_for_any_blocks(net):
    with torch.no_grad():
        assert_streams_like_offline(lambda: Streamer(net), net.forward, features(3000), delay=net.delay)


def test_reset_restarts_bit_identically(net):
    streamer = Streamer(net)
    x = features(1500, seed=2)
    first = stream(streamer, x, [64, 7, 256])
    stream(streamer, features(999, seed=3), [100])  # something else played in between
    streamer.reset()
    assert torch.equal(stream(streamer, x, [64, 7, 256]), first)


def test_it_is_causal_with_the_delay_it_declares(net):
    """An impulse at sample 500 changes nothing before it."""
    quiet = torch.zeros(1, 4, 1000)
    kick = quiet.clone()
    kick[..., 500] = 1.0
    with torch.no_grad():
        a, b = net(quiet), net(kick)
    assert net.delay == 0
    assert torch.equal(a[:, :500], b[:, :500]) and a[0, 500] != b[0, 500]
    assert net.receptive_field == 1 + 2 * (1 + 2 + 4 + 8 + 16 + 32 + 64)


def test_a_feature_count_the_builder_cannot_make_is_refused():
    """The feature builder makes the first synth's 4 channels or all 7: a config of 5 would
    build, then fail in the render process at every start."""
    from liveai.models.checkpoint import CheckpointError, build_model

    with pytest.raises(ValueError, match="features: 5 is not 4 or 7"):
        SynthConfig(features=5)
    with pytest.raises(CheckpointError, match="synth config: features: 6"):
        build_model("synth", {"features": 6})
    assert build_model("synth", {"features": 7}).config.features == 7
