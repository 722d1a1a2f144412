"""The synth network streams: any blocks give the offline signal, in its eager form and
in the compiled matrix form the live renderer runs; reset is silence again; it is
causal with the delay it declares."""

from __future__ import annotations

import pytest
import torch
from streaming import StepStreamer, assert_streams_like_offline, stream

from liveai.models.synth import SynthConfig, SynthNet
from liveai.models.synth_step import compile_step

SR = 48_000


@pytest.fixture(scope="module")
def net() -> SynthNet:
    torch.manual_seed(0)
    return SynthNet(SynthConfig(channels=8, skip=8, dilations=(1, 2, 4, 8, 16, 32, 64))).eval()


def features(t: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(1, 4, t, generator=torch.Generator().manual_seed(seed))


def streamer(net: SynthNet, compiled: bool = False) -> StepStreamer:
    step = compile_step(net) if compiled else net.step
    return StepStreamer(step, lambda: net.initial_state().pasts)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_streaming_equals_offline_for_any_blocks(net, compiled):
    with torch.no_grad():
        assert_streams_like_offline(
            lambda: streamer(net, compiled), net.forward, features(3000), delay=net.delay
        )


def test_reset_restarts_bit_identically(net):
    played = streamer(net)
    x = features(1500, seed=2)
    first = stream(played, x, [64, 7, 256])
    stream(played, features(999, seed=3), [100])  # something else played in between
    played.reset()
    assert torch.equal(stream(played, x, [64, 7, 256]), first)


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


# The linear form: the audio path is linear in the excitation, the controls
# (pitch, loudness) only turn its gains.
AUDIO, CONTROL = [0, 1, 4, 5, 6], [2, 3]


@pytest.fixture(scope="module")
def linear() -> SynthNet:
    torch.manual_seed(0)
    return SynthNet(
        SynthConfig(features=7, linear=True, channels=8, skip=8, dilations=(1, 2, 4, 8, 16, 32))
    ).eval()


def seven(t: int, seed: int) -> torch.Tensor:
    x = torch.randn(1, 7, t, generator=torch.Generator().manual_seed(seed))
    x[:, CONTROL] = torch.tensor([[-0.5], [1.0]])  # a held chord's controls: steady
    return x


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_the_linear_form_streams_like_offline(linear, compiled):
    with torch.no_grad():
        assert_streams_like_offline(
            lambda: streamer(linear, compiled), linear.forward, seven(3000, 4), delay=linear.delay
        )


def test_silence_in_is_exact_silence_out_whatever_the_controls(linear):
    """No bias on the audio path: a synth at rest plays zeros, not a click and a DC
    offset (the first form's rest output was -0.066 at the first sample)."""
    x = torch.zeros(1, 7, 4000)
    x[:, CONTROL] = torch.randn(2, 4000, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        assert torch.equal(linear(x), torch.zeros(1, 4000))


def test_voices_add_without_intermodulation(linear):
    """Under the same controls, the output of two excitations summed is the sum of their
    outputs: a chord's notes cannot make difference tones (the first form's tanh x
    sigmoid and relu of the summed voices did)."""
    a, b = seven(3000, 6), seven(3000, 7)
    both = a.clone()
    both[:, AUDIO] += b[:, AUDIO]
    with torch.no_grad():
        assert torch.allclose(linear(both), linear(a) + linear(b), atol=1e-5)


def test_the_controls_turn_the_gains(linear):
    """The controls are heard: a lower pitch or a softer note changes the output."""
    x = seven(2000, 8)
    other = x.clone()
    other[:, CONTROL] = torch.tensor([[1.0], [0.3]])
    with torch.no_grad():
        assert (linear(x) - linear(other)).abs().max() > 1e-3
