"""The synth's step for one stream in the form the live renderer runs: matrix products,
compiled by TorchScript (`compile_step`). It computes `SynthNet.step` (the same sums, to
float rounding; tests/unit/models/test_synth.py streams both against the offline
network), without Python between the layers, and releases the GIL while it runs.
Its speed against the eager step: `liveai bench --audio` (measured in the CHANGELOG).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch

from .synth import SynthNet

Step = Callable[[torch.Tensor, list[torch.Tensor]], tuple[torch.Tensor, list[torch.Tensor]]]


class MatmulStep(torch.nn.Module):
    """SynthNet.step for one stream as matrix products: a dilated convolution of kernel
    k is one product of its weights (2C, kC) with the k taps of its input stacked
    (kC, T). PyTorch's CPU convolution takes a slow path for dilated kernels this small
    (a tenth of the samples per second); the sums are the same, to float rounding."""

    def __init__(self, net: SynthNet) -> None:
        super().__init__()
        c = net.config
        self.channels, self.kernel = c.channels, c.kernel
        self.dilations = [int(b.dilation) for b in net.blocks]

        def matrix(conv: torch.nn.Conv1d) -> tuple[torch.Tensor, torch.Tensor]:
            w = conv.weight.detach()  # (out, in, k) -> (out, k * in), tap-major as the stacked taps
            return w.permute(0, 2, 1).reshape(w.shape[0], -1).contiguous(), conv.bias.detach()[
                :, None
            ].clone()

        self.inp_w, self.inp_b = matrix(net.inp)
        convs = [matrix(b.conv) for b in net.blocks]
        mixes = [matrix(b.mix) for b in net.blocks]
        self.conv_w, self.conv_b = [w for w, _ in convs], [b for _, b in convs]
        self.mix_w, self.mix_b = [w for w, _ in mixes], [b for _, b in mixes]
        self.out1_w, self.out1_b = matrix(net.out1)
        self.out2_w, self.out2_b = matrix(net.out2)

    def forward(
        self, features: torch.Tensor, pasts: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = torch.addmm(self.inp_b, self.inp_w, features[0])  # (C, T)
        n = x.shape[1]
        skips = x.new_zeros(self.out1_w.shape[1], n)
        new_pasts: list[torch.Tensor] = []
        for i in range(len(self.dilations)):
            d = self.dilations[i]
            padded = torch.cat([pasts[i][0], x], dim=1)
            taps = torch.cat([padded[:, j * d : j * d + n] for j in range(self.kernel)], dim=0)
            h = torch.addmm(self.conv_b[i], self.conv_w[i], taps)
            gated = torch.tanh(h[: self.channels]) * torch.sigmoid(h[self.channels :])
            mixed = torch.addmm(self.mix_b[i], self.mix_w[i], gated)
            x = x + mixed[: self.channels]
            skips = skips + mixed[self.channels :]
            new_pasts.append(padded[:, padded.shape[1] - (self.kernel - 1) * d :][None])
        hidden = torch.relu(torch.addmm(self.out1_b, self.out1_w, torch.relu(skips)))
        return torch.addmm(self.out2_b, self.out2_w, hidden), new_pasts


def columns(conv: torch.nn.Conv1d, index: torch.Tensor, features: int) -> torch.Tensor:
    """A 1x1 convolution of some feature channels as a matrix over all of them (zeros
    in the columns it does not hear): one product with the whole block of features."""
    w = torch.zeros(conv.weight.shape[0], features)
    w[:, index] = conv.weight.detach()[:, :, 0].float()
    return w


class LinearMatmulStep(torch.nn.Module):
    """SynthNet.step of the linear form (`SynthConfig.linear`) for one stream, as matrix
    products: the audio path without biases, every block's gains in one product."""

    def __init__(self, net: SynthNet) -> None:
        super().__init__()
        c = net.config
        self.channels, self.kernel = c.channels, c.kernel
        self.dilations = [int(b.dilation) for b in net.blocks]
        self.inp_w = columns(net.inp, net.audio_index, c.features)
        first, second = net.control[0], net.control[2]
        self.c1_w, self.c1_b = (
            columns(first, net.control_index, c.features),
            first.bias.detach()[:, None].clone(),
        )
        self.c2_w, self.c2_b = second.weight.detach()[:, :, 0].clone(), second.bias.detach()[:, None].clone()
        self.gain_w, self.gain_b = (
            net.gains.weight.detach()[:, :, 0].clone(),
            net.gains.bias.detach()[:, None].clone(),
        )
        self.conv_w = [
            b.conv.weight.detach().permute(0, 2, 1).reshape(c.channels, -1).contiguous() for b in net.blocks
        ]
        self.mix_w = [b.mix.weight.detach()[:, :, 0].clone() for b in net.blocks]
        self.out_w = net.out.weight.detach()[:, :, 0].clone()

    def forward(
        self, features: torch.Tensor, pasts: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = torch.mm(self.inp_w, features[0])  # (C, T)
        n = x.shape[1]
        h = torch.tanh(
            torch.addmm(self.c2_b, self.c2_w, torch.tanh(torch.addmm(self.c1_b, self.c1_w, features[0])))
        )
        gains = torch.sigmoid(torch.addmm(self.gain_b, self.gain_w, h))  # (L * C, T)
        skips = x.new_zeros(self.out_w.shape[1], n)
        new_pasts: list[torch.Tensor] = []
        for i in range(len(self.dilations)):
            d = self.dilations[i]
            padded = torch.cat([pasts[i][0], x], dim=1)
            taps = torch.cat([padded[:, j * d : j * d + n] for j in range(self.kernel)], dim=0)
            gated = torch.mm(self.conv_w[i], taps) * gains[i * self.channels : (i + 1) * self.channels]
            mixed = torch.mm(self.mix_w[i], gated)
            x = x + mixed[: self.channels]
            skips = skips + mixed[self.channels :]
            new_pasts.append(padded[:, padded.shape[1] - (self.kernel - 1) * d :][None])
        return torch.mm(self.out_w, skips), new_pasts


def compile_step(net: SynthNet) -> Step:
    """The network's step for one stream: matrix products, compiled by TorchScript
    (its deprecation warning is silenced, as the continuation models' runtime does)."""
    step = LinearMatmulStep(net.eval()) if net.config.linear else MatmulStep(net.eval())
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"`torch\.jit\.script` is deprecated", category=DeprecationWarning
        )
        return torch.jit.script(step.eval())  # type: ignore[no-any-return]
