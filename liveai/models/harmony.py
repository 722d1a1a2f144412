"""The harmony model: at each melody note, which voicing sounds under it.

A GRU steps once per melody note. Its input is the note (its degree in the key and its
octave), the key's mode, the leap from the last melody note, the beat position (or
"unknown"), how many voices are asked for, and the voicing it chose last. Its output is
one categorical over `config.voicings`, the voicings (liveai.music.voicing) seen most
in training: the 1-3 voices are one joint choice, consonant by construction, so two
voices never land on a cluster by accident. The choice under live constraints (key,
register, voice count, voice leading) is liveai.models.voicer's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from .base import TensorState

# The inputs of a step, one small integer each (B, N_FEATURES); their vocabulary sizes.
DEGREE, MODE, OCTAVE, LEAP, BEAT, VOICES, PREVIOUS = range(7)
N_FEATURES = 7
SIZES = (12, 2, 11, 26, 5, 3)  # PREVIOUS has len(voicings) + 1 (the last: none)
NO_LEAP = 25  # the first note of a phrase
BEAT_UNKNOWN = 4  # no clock: the beat is not known
BEAT_TOLERANCE_Q = 0.08  # an onset this close to a grid point is on it (quarter notes)


@dataclass
class HarmonyConfig:
    voicings: list[list[int]] = field(default_factory=lambda: [[7], [4], [3]])  # intervals below the melody
    hidden: int = 128
    layers: int = 1
    dropout: float = 0.1


@dataclass
class HarmonyState(TensorState):
    h: torch.Tensor  # (L, B, H)

    batch_dims: ClassVar[dict[str, int]] = {"h": 1}


def beat_of(onset_q: float | None) -> int:
    """The beat position of an onset in quarter notes from a bar line (4/4): 0 the bar,
    1 a beat, 2 an off-beat eighth, 3 elsewhere; BEAT_UNKNOWN without one."""
    if onset_q is None:
        return BEAT_UNKNOWN
    for bin_, grid in enumerate((4.0, 1.0, 0.5)):
        phase = onset_q % grid
        if min(phase, grid - phase) <= BEAT_TOLERANCE_Q:
            return bin_
    return 3


def features(
    melody: np.ndarray,
    tonic: int,
    minor: bool,
    previous_melody: np.ndarray,
    beat: np.ndarray,
    voices: int,
    previous: np.ndarray,
) -> np.ndarray:
    """(..., N_FEATURES) int64 inputs: melody pitches (...), the key, the melody pitch
    before each (-1: none), beat bins (...), the voice count, the previous voicing's
    index (len(voicings): none)."""
    leap = np.where(previous_melody < 0, NO_LEAP, np.clip(melody - previous_melody, -12, 12) + 12)
    out = np.stack(
        [
            (melody - tonic) % 12,
            np.full_like(melody, int(minor)),
            np.clip(melody // 12, 0, 10),
            leap,
            beat,
            np.full_like(melody, voices - 1),
            previous,
        ],
        axis=-1,
    )
    return out.astype(np.int64)


def feature_row(
    melody: int, tonic: int, minor: bool, previous_melody: int, beat: int, voices: int, previous: int
) -> list[int]:
    """`features` of one note, in plain ints (a live step: numpy's per-call cost is most of it)."""
    leap = NO_LEAP if previous_melody < 0 else min(max(melody - previous_melody, -12), 12) + 12
    return [
        (melody - tonic) % 12,
        int(minor),
        min(max(melody // 12, 0), 10),
        leap,
        beat,
        voices - 1,
        previous,
    ]


class HarmonyModel(nn.Module):
    arch = "harmony"
    live_methods = ("step_h",)  # compiled for live use (liveai.runtime.scripted)

    def __init__(self, config: HarmonyConfig) -> None:
        super().__init__()
        if not config.voicings:
            raise ValueError("a harmony model needs at least one voicing")
        self.config = config
        self.n_voicings = len(config.voicings)
        self.hidden, self.layers = config.hidden, config.layers  # plain ints: TorchScript reads no dataclass
        sizes = [*SIZES, self.n_voicings + 1]
        self.embeds = nn.ModuleList(nn.Embedding(n, config.hidden) for n in sizes)
        self.drop = nn.Dropout(config.dropout)
        self.gru = nn.GRU(
            config.hidden,
            config.hidden,
            num_layers=config.layers,
            batch_first=True,
            dropout=config.dropout if config.layers > 1 else 0.0,
        )
        self.head = nn.Linear(config.hidden, self.n_voicings)

    def init_state(self, batch: int, device: torch.device | str | None = None) -> HarmonyState:
        p = self.embeds[0].weight
        # h: (L, B, H)
        return HarmonyState(
            torch.zeros(
                self.config.layers, batch, self.config.hidden, device=device or p.device, dtype=p.dtype
            )
        )

    def step(self, inputs: torch.Tensor, state: HarmonyState) -> tuple[torch.Tensor, HarmonyState]:
        """inputs (B, N_FEATURES) -> logits (B, V) over the voicings, the state after."""
        logits, h = self.step_h(inputs, state.h)
        return logits, HarmonyState(h)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """inputs (B, T, N_FEATURES) from an empty state -> logits (B, T, V) (training)."""
        h = torch.zeros(self.layers, inputs.shape[0], self.hidden, device=inputs.device)
        return self.run(inputs, h)[0]

    def run(self, inputs: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """inputs (B, T, N_FEATURES), h (L, B, H) -> logits (B, T, V), h after the last step."""
        x = torch.zeros(inputs.shape[0], inputs.shape[1], self.hidden, device=inputs.device)
        for i, embed in enumerate(self.embeds):
            x = x + embed(inputs[..., i])  # (B, T, H)
        y, h = self.gru(self.drop(x), h)
        return self.head(self.drop(y)), h

    @torch.jit.export
    def step_h(self, inputs: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """inputs (B, N_FEATURES), h (L, B, H) -> logits (B, V), h (the state as a plain tensor)."""
        logits, h = self.run(inputs[:, None], h)
        return logits[:, 0], h
