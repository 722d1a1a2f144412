"""The synth network streams: any blocks give the offline signal; reset is silence
again; the oscillators' phases and the noise continue across blocks; it is causal."""

from __future__ import annotations

import math

import pytest
import torch
from streaming import assert_streams_like_offline, stream

from liveai.models.synth import (
    Oscillators,
    Streamer,
    SynthConfig,
    SynthNet,
    block_noise,
    harmonic_excitation,
    oscillators,
)

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


class _Excitation:
    def __init__(self, envelope: torch.Tensor) -> None:
        self.osc: Oscillators = oscillators(1, envelope.shape[1])
        self.envelope, self.at = envelope, 0

    def process(self, f0: torch.Tensor) -> torch.Tensor:
        env = self.envelope[..., self.at:self.at + f0.shape[-1]]
        self.at += f0.shape[-1]
        out, self.osc = harmonic_excitation(f0, env, self.osc, SR)
        return out

    def reset(self) -> None:
        self.osc, self.at = oscillators(1, self.envelope.shape[1]), 0


def test_the_oscillators_continue_their_phase_across_blocks():
    t = 4000
    f0 = torch.tensor([440.0, 659.25])[None, :, None].expand(1, 2, t).contiguous()
    f0[:, 1, 2000:] = 698.46  # the second voice glides to another note mid-signal
    envelope = torch.ones(1, 2, t)

    def offline(signal: torch.Tensor) -> torch.Tensor:
        return harmonic_excitation(signal, envelope, oscillators(1, 2), SR)[0]

    assert_streams_like_offline(lambda: _Excitation(envelope), offline, f0, atol=1e-5)
    # no click at block edges: the largest sample-to-sample step streamed in blocks of 7
    # is the offline signal's (bounded by the slope of the sines)
    streamed = stream(_Excitation(envelope), f0, [7])
    jump = streamed.diff().abs().max().item()
    bound = sum(2 * math.pi * h * 698.46 / SR for h in range(1, 9)) * 2 / 8 * 4  # generous: 2 voices' slopes
    assert jump <= offline(f0).diff().abs().max().item() + 1e-5 and jump < bound


def test_noise_is_the_same_samples_in_any_blocks():
    whole = block_noise(0, 5000, batch=2, seed=4)
    parts = torch.cat([block_noise(s, n, batch=2, seed=4) for s, n in ((0, 1), (1, 7), (8, 992), (1000, 4000))], -1)
    assert torch.equal(whole, parts)
    assert whole.abs().max() <= 1.0 and abs(whole.mean().item()) < 0.05 and 0.25 < whole.var().item() < 0.42
    other_row = whole[1]
    for shift in range(0, 5000, 97):  # rows are not shifted copies of each other
        assert not torch.equal(whole[0, shift:shift + 50], other_row[:50])
    assert abs(torch.corrcoef(torch.stack([whole[0], other_row]))[0, 1].item()) < 0.05
    assert not torch.equal(block_noise(0, 100, seed=1)[0, 7:57], block_noise(0, 100, seed=2)[0, :50])
