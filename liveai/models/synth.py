"""The neural synth's network: a WaveNet-style stack of causal dilated
convolutions with gated activations, residual and skip connections (van den Oord et al.,
2016), shaping a harmonic-plus-noise excitation built from the sounding notes, as in a
neural source-filter model (Wang et al., NSF). Not autoregressive over samples.

    features (B, F, T): per sample, the harmonic excitation, the noise, the voices'
                        pitch and their summed envelope, and (F = 7) the excitation decaying
                        with each note's age, a bright pulse fading faster and the noise of
                        each onset (liveai.audio.features builds them)
    -> 1x1 in -> [dilated causal conv (k, d) -> tanh * sigmoid -> 1x1 residual, 1x1 skip] x L
    -> sum of skips -> relu -> 1x1 -> relu -> 1x1 -> audio (B, T)

The second form (`SynthConfig.linear`) keeps the audio path linear in the
excitation, so that a chord's voices, summed in the excitation, cannot intermodulate
as the first form's do (models/README.md):

    audio features (the excitation channels) -> 1x1 in -> x
    control features (pitch, loudness) -> 1x1 -> tanh -> 1x1 -> tanh -> h
    [x -> dilated causal conv (k, d) -> times sigmoid(1x1 of h) -> 1x1 residual, 1x1 skip] x L
    -> sum of skips -> 1x1 -> audio

with no bias anywhere on the audio path. For fixed controls (a held chord) it is a
linear time-invariant filter of the summed excitation: every note's harmonics come out
as harmonics, silence in is exact silence out, and an excitation without DC gives
none. The controls only turn each channel's gain, as fast as the voices' envelopes move
(a 4 ms attack, a 60 ms release): when a note starts or ends, every sounding note's
gains move with it, and a gain moving under a tone modulates it. The controls are the
voices' shared pitch and loudness, so a note's level depends on the others sounding
(models/README.md).

Streaming: every convolution keeps its own past, (k - 1) * d input samples, in an
explicit `SynthState`; a block of any length gives the samples the whole signal would,
within float rounding (`process` against `forward`; tests/streaming.py checks 1e-5).
The network is causal with no lookahead: its declared delay is 0 samples. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

# What the network hears, per sample (liveai.audio.features builds them from the notes):
# the first `SynthConfig.features` of these. The first synth heard 4; the last 3 tell it
# how long each note has sounded, which a piano's decay and knock depend on (a network
# sees 43 ms at a time: it cannot count a note's seconds itself).
FEATURE_NAMES = (
    "harmonic excitation",
    "noise",
    "pitch",
    "loudness",
    "decaying excitation",
    "bright excitation",
    "knock",
)
CONTROLS = (2, 3)  # pitch and loudness: smooth, the linear form's gates hear only these
# White noise, the bright pulse and the knock reach Nyquist, where the electric piano has
# next to nothing (-60 dB above 4 kHz): the linear form must learn a steep low-pass
# before they help, so they start 40 dB down (from a random start they were 40 dB too
# bright above 3 kHz for hundreds of steps).
BROADBAND = (1, 5, 6)


def split_features(features: int) -> tuple[list[int], list[int]]:
    """(the audio channels, the control channels) of the first `features` features."""
    return [i for i in range(features) if i not in CONTROLS], [i for i in CONTROLS if i < features]


@dataclass
class SynthConfig:
    sample_rate: int = 48_000
    features: int = 4  # the first 4 or all 7 of FEATURE_NAMES
    channels: int = 16
    kernel: int = 3
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
    skip: int = 16
    harmonics: int = 16  # sines per voice in the excitation (none above Nyquist)
    # True: the audio path is linear in the excitation, gated by the controls;
    # False: the first synths' tanh x sigmoid of the summed voices (their checkpoints)
    linear: bool = False
    control: int = 16  # the linear form's control channels (h)

    def __post_init__(self) -> None:
        if self.features not in (4, len(FEATURE_NAMES)):  # the feature builder makes one set or the other
            raise ValueError(f"features: {self.features} is not 4 or {len(FEATURE_NAMES)}")


@dataclass
class SynthState:
    """Each dilated convolution's past inputs, (B, channels, (k - 1) * d)."""

    pasts: list[torch.Tensor]

    def clone(self) -> SynthState:
        return SynthState([p.clone() for p in self.pasts])


class GatedBlock(nn.Module):
    def __init__(self, channels: int, skip: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.kernel, self.dilation, self.channels = kernel, dilation, channels
        self.receptive = (kernel - 1) * dilation  # past input samples it needs
        self.conv = nn.Conv1d(channels, 2 * channels, kernel, dilation=dilation)
        self.mix = nn.Conv1d(channels, channels + skip, 1)  # the residual and the skip in one 1x1

    def forward(self, x: torch.Tensor, past: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(residual out, skip out, the new past) for a block x (B, C, T) after `past`."""
        padded = torch.cat([past, x], dim=-1)
        a, b = self.conv(padded).chunk(2, dim=1)
        mixed = self.mix(torch.tanh(a) * torch.sigmoid(b))
        residual, skip = mixed[:, : self.channels], mixed[:, self.channels :]
        return x + residual, skip, padded[:, :, padded.shape[-1] - self.receptive :]


class LinearBlock(nn.Module):
    """A dilated causal convolution of the audio path, no bias, times a gain per channel
    and sample (the sigmoid of the controls, computed by SynthNet for every block at
    once); one 1x1 without bias for the residual and the skip."""

    def __init__(self, channels: int, skip: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.kernel, self.dilation, self.channels = kernel, dilation, channels
        self.receptive = (kernel - 1) * dilation
        self.conv = nn.Conv1d(channels, channels, kernel, dilation=dilation, bias=False)
        self.mix = nn.Conv1d(channels, channels + skip, 1, bias=False)

    def forward(
        self, x: torch.Tensor, past: torch.Tensor, gain: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        padded = torch.cat([past, x], dim=-1)
        mixed = self.mix(self.conv(padded) * gain)
        residual, skip = mixed[:, : self.channels], mixed[:, self.channels :]
        return x + residual, skip, padded[:, :, padded.shape[-1] - self.receptive :]


class SynthNet(nn.Module):
    arch = "synth"

    def __init__(self, config: SynthConfig) -> None:
        super().__init__()
        config.dilations = tuple(config.dilations)  # a loaded checkpoint gives a list
        self.config = config
        c = config
        self.skip_channels = c.skip
        self.linear = c.linear
        audio, control = split_features(c.features)
        self.register_buffer(
            "audio_index", torch.tensor(audio if c.linear else list(range(c.features))), persistent=False
        )
        self.register_buffer("control_index", torch.tensor(control), persistent=False)
        self.inp = nn.Conv1d(len(audio) if c.linear else c.features, c.channels, 1, bias=not c.linear)
        block = LinearBlock if c.linear else GatedBlock
        self.blocks = nn.ModuleList(block(c.channels, c.skip, c.kernel, d) for d in c.dilations)
        if c.linear:
            self.control = nn.Sequential(
                nn.Conv1d(len(control), c.control, 1),
                nn.Tanh(),
                nn.Conv1d(c.control, c.control, 1),
                nn.Tanh(),
            )
            self.gains = nn.Conv1d(c.control, c.channels * len(c.dilations), 1)  # every block's, at once
            self.out = nn.Conv1d(c.skip, 1, 1, bias=False)
            with torch.no_grad():  # the broadband channels start 40 dB down (see BROADBAND), the
                self.out.weight *= 0.1  # output near the piano's level (10x louder from a random start)
                for i in BROADBAND:
                    if i < c.features:
                        self.inp.weight[:, audio.index(i)] *= 0.01
        else:
            self.out1 = nn.Conv1d(c.skip, c.skip, 1)
            self.out2 = nn.Conv1d(c.skip, 1, 1)

    @property
    def delay(self) -> int:
        """Samples between an input and the output it first shapes: 0 (causal, no lookahead)."""
        return 0

    @property
    def receptive_field(self) -> int:
        return 1 + sum(b.receptive for b in self.blocks)

    def initial_state(self, batch: int = 1) -> SynthState:
        """Silence before the first sample, on the network's device and in its dtype."""
        weight = self.inp.weight
        return SynthState([weight.new_zeros(batch, self.config.channels, b.receptive) for b in self.blocks])

    def step(
        self, features: torch.Tensor, pasts: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """`process` on plain tensors: audio (B, T), new pasts."""
        if self.linear:
            return self._step_linear(features, pasts)
        x = self.inp(features)
        skips = torch.zeros_like(x[:, :1]).expand(-1, self.skip_channels, -1)
        new_pasts: list[torch.Tensor] = []
        for i, block in enumerate(self.blocks):
            x, skip, past = block(x, pasts[i])
            skips = skips + skip
            new_pasts.append(past)
        return self.out2(torch.relu(self.out1(torch.relu(skips))))[:, 0], new_pasts

    def _step_linear(
        self, features: torch.Tensor, pasts: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = self.inp(features.index_select(1, self.audio_index))
        gains = torch.sigmoid(self.gains(self.control(features.index_select(1, self.control_index))))
        gains = gains.chunk(len(self.blocks), dim=1)
        skips = torch.zeros_like(x[:, :1]).expand(-1, self.skip_channels, -1)
        new_pasts: list[torch.Tensor] = []
        for i, block in enumerate(self.blocks):
            x, skip, past = block(x, pasts[i], gains[i])
            skips = skips + skip
            new_pasts.append(past)
        return self.out(skips)[:, 0], new_pasts

    def process(self, features: torch.Tensor, state: SynthState) -> tuple[torch.Tensor, SynthState]:
        """One block: audio (B, T) for features (B, F, T) after `state`; the state after it."""
        if features.shape[-1] == 0:
            return features.new_zeros(features.shape[0], 0), state
        audio, pasts = self.step(features, state.pasts)
        return audio, SynthState(pasts)

    @torch.jit.unused  # TorchScript compiles synth_step's MatmulStep, not this
    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """The whole signal at once (training), from silence."""
        audio, _ = self.process(features, self.initial_state(features.shape[0]))
        return audio
