"""A reusable check that a streaming processor equals its offline form (as acids-ircam
cached_conv's `test_equal` does for its convolutions): the input cut into blocks of
random sizes, streamed, gives the offline output after the declared delay."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import torch

BLOCK_SIZES = (1, 7, 64, 256, 1000)


class Streaming(Protocol):
    def process(self, block: torch.Tensor) -> torch.Tensor: ...
    def reset(self) -> None: ...


def stream(streamer: Streaming, signal: torch.Tensor, sizes: Sequence[int]) -> torch.Tensor:
    """`signal` (..., T) fed in blocks of `sizes` (cycled) along its last axis."""
    out, start, i = [], 0, 0
    while start < signal.shape[-1]:
        size = sizes[i % len(sizes)]
        out.append(streamer.process(signal[..., start : start + size]))
        start += size
        i += 1
    return torch.cat(out, dim=-1)


def assert_streams_like_offline(
    make: Callable[[], Streaming],
    offline: Callable[[torch.Tensor], torch.Tensor],
    signal: torch.Tensor,
    delay: int = 0,
    atol: float = 1e-5,
    block_sizes: Sequence[int] = BLOCK_SIZES,
    seed: int = 0,
) -> None:
    """For each block size alone and for a random mixture of them: streamed == offline
    within `atol`, after `delay` samples."""
    expected = offline(signal)
    generator = torch.Generator().manual_seed(seed)
    mixture = [block_sizes[int(i)] for i in torch.randint(0, len(block_sizes), (64,), generator=generator)]
    for sizes in [[size] for size in block_sizes] + [mixture]:
        got = stream(make(), signal, sizes)
        assert got.shape == expected.shape, (
            f"blocks of {sizes[:6]}...: {tuple(got.shape)} samples, not {tuple(expected.shape)}"
        )
        n = expected.shape[-1] - delay
        error = (got[..., delay : delay + n] - expected[..., :n]).abs().max().item()
        assert error <= atol, f"blocks of {sizes[:6]}...: streamed differs from offline by {error:.2e}"


class StepStreamer:
    """A network's step (`SynthNet.step`, or its compiled form) played block by block with
    its pasts kept; `reset()` is silence again (`initial()`: the pasts of silence)."""

    def __init__(
        self,
        step: Callable[[torch.Tensor, list[torch.Tensor]], tuple[torch.Tensor, list[torch.Tensor]]],
        initial: Callable[[], list[torch.Tensor]],
    ) -> None:
        self.step, self.initial = step, initial
        self.pasts = initial()

    @torch.no_grad()
    def process(self, block: torch.Tensor) -> torch.Tensor:
        if block.shape[-1] == 0:
            return block.new_zeros(block.shape[0], 0)
        audio, self.pasts = self.step(block, self.pasts)
        return audio

    def reset(self) -> None:
        self.pasts = self.initial()


def one_pole_high_pass(x: np.ndarray, corner_hz: float = 5.0, rate: int = 48_000) -> np.ndarray:
    """The DC blocker's definition, one sample at a time from a zero state:
    y[n] = x[n] - x[n-1] + R y[n-1], R = exp(-2 pi corner / rate)."""
    r = math.exp(-2 * math.pi * corner_hz / rate)
    y, last_in, last_out = np.zeros(len(x)), 0.0, 0.0
    for i, v in enumerate(np.asarray(x, dtype=np.float64)):
        last_out = v - last_in + r * last_out
        last_in = v
        y[i] = last_out
    return y
