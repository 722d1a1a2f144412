"""The DC blocker: the one-pole high-pass it says it is (sample by sample), streamed in
any blocks as offline, silence kept exact, a constant offset removed, the notes kept."""

from __future__ import annotations

import numpy as np
import torch
from streaming import assert_streams_like_offline
from streaming import one_pole_high_pass as recursion

from liveai.audio.dc_blocker import DCBlocker

SR = 48_000


def signal(seconds: float = 0.3) -> np.ndarray:
    """A low note with an offset that steps in and out, and a burst of noise."""
    t = np.arange(round(seconds * SR)) / SR
    x = 0.3 * np.sin(2 * np.pi * 65.4 * t) + 0.05 * (t > 0.05) - 0.02 * (t > 0.2)
    x[3000:3400] += np.random.default_rng(0).normal(0, 0.2, 400)
    return x.astype(np.float32)


class Streamer:
    def __init__(self) -> None:
        self.blocker = DCBlocker(SR)

    def process(self, block: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.blocker.process(block.numpy()))

    def reset(self) -> None:
        self.blocker.reset()


def test_it_is_the_one_pole_high_pass_sample_by_sample() -> None:
    x = signal()
    assert np.abs(DCBlocker(SR).process(x) - recursion(x)).max() < 1e-6


def test_streamed_in_any_blocks_equals_offline() -> None:
    assert_streams_like_offline(
        Streamer,
        lambda x: torch.from_numpy(recursion(x.numpy())).float(),
        torch.from_numpy(signal()),
        atol=1e-6,
        block_sizes=(1, 7, 64, 256, 1000, 5000),
    )


def test_silence_stays_exact_silence_and_a_tail_returns_to_it() -> None:
    blocker = DCBlocker(SR)
    assert not blocker.process(np.zeros(10_000, dtype=np.float32)).any()
    blocker.process(signal())
    for _ in range(60):  # 60 s of silence after the sound: the tail decays to exact zero
        tail = blocker.process(np.zeros(SR, dtype=np.float32))
    assert not tail.any() and blocker.last_out == 0.0


def test_an_offset_goes_and_a_low_note_stays() -> None:
    t = np.arange(2 * SR) / SR
    note = 0.3 * np.sin(2 * np.pi * 65.0 * t)  # about C2, a whole number of periods a second
    out = DCBlocker(SR).process((note + 0.01).astype(np.float32))
    late = slice(SR, 2 * SR)  # after the step of the offset's start has died away
    assert abs(out[late].mean()) < 1e-5
    gain_db = 20 * np.log10(np.std(out[late]) / np.std(note[late]))
    assert -0.1 < gain_db < 0.0, gain_db
