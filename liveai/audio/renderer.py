"""The synth as one object: notes in, audio out, block by block, with every state
kept (voices, oscillators, noise counter, the network's pasts). The live engine's
render process and `liveai render` both play through it, so what a file renders to is
what the stream plays (which then applies `audio.gain`).

`compile_step` makes the network's step a TorchScript function of matrix products
(`MatmulStep`; `LinearMatmulStep` for the linear form): 0.39 ms for 256 samples on this
CPU, where the eager convolutions take 1.58 (the first form, measured in one run, one
thread, while another job used the other core). It runs
without Python between the layers and releases the GIL while it runs, so the event
loop gets it back.

Idle costs nothing. When no voice sounds, the features are zeros, and once the network
has heard zeros for its whole receptive field its state no longer moves and its output
is one constant (its silence: exactly zero for the linear form, near zero for the
first synths). Such a block is that constant, with neither features nor network
computed: the same samples the network would give, so streaming still equals offline.

Every block then passes the DC blocker (`dc_blocker`, a 5 Hz high-pass; its state is
reset with the rest): the network's slow offset after low notes is not played.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..models.synth import SynthNet
from ..music.note import Note
from .dc_blocker import DCBlocker
from .features import NoteEvent, NoteFeatures, blocks_of, note_events

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


class SynthRenderer:
    def __init__(self, net: SynthNet, polyphony: int = 16, scripted: bool = True, seed: int = 0) -> None:
        self.net = net.eval()
        self.sample_rate = net.config.sample_rate
        self.polyphony = polyphony
        self.seed = seed
        self.step: Step = compile_step(net) if scripted else net.step
        self.reach = net.receptive_field  # zeros heard for this long: the state is at rest
        self.blocker = DCBlocker(self.sample_rate)
        self.reset()

    def warm_up(self, n: int, times: int = 4) -> None:
        """Render a few silent blocks of n samples, then reset: TorchScript optimises a
        function on its first calls (tens of ms each), which must not happen on stage."""
        for _ in range(times):
            self.render(n)
        self.reset()

    def reset(self) -> None:
        """Silence, as at the start: the same notes then render bit-identically again."""
        self.features = NoteFeatures(self.net.config, self.polyphony, self.seed)
        self.pasts = self.net.initial_state().pasts
        self.quiet = 0  # samples of silent features the network has heard since it last heard a voice
        self.rest: float | None = None  # its output once at rest, when it has been seen
        self.skipped = 0  # silent blocks not computed
        self.blocker.reset()

    @property
    def sample(self) -> int:
        """The next sample to render, counted from the first."""
        return self.features.sample

    def render(self, n: int, events: Sequence[NoteEvent] = ()) -> np.ndarray:
        """The next n samples (float32); `events` are (offset in the block, pitch,
        velocity, layer; velocity 0 = off), in order (liveai.audio.features)."""
        return self.blocker.process(self._network(n, events))

    def _network(self, n: int, events: Sequence[NoteEvent]) -> np.ndarray:
        """The network's own output for the next n samples (before the DC blocker)."""
        if events or not self.features.silent():
            self.quiet, self.rest = 0, None
            return self._run(self.features.block(n, events))
        self.features.skip(n)  # silence: all its features are zeros
        quiet, self.quiet = self.quiet, self.quiet + n
        if self.rest is not None and quiet >= self.reach:  # at rest: its output is its silence
            self.skipped += 1
            return np.full(n, self.rest, dtype=np.float32)
        audio = self._run(torch.zeros(1, self.net.config.features, n))
        if quiet + n - 1 >= self.reach:  # the last sample heard only zeros: the network's silence
            self.rest = float(audio[-1])
        return audio

    def _run(self, feats: torch.Tensor) -> np.ndarray:
        with torch.inference_mode():
            audio, self.pasts = self.step(feats.to(self.net.inp.weight.device), self.pasts)
        return audio[0].cpu().numpy()

    def voices(self) -> int:
        return self.features.sounding()


def render_notes(
    renderer: SynthRenderer,
    notes: Sequence[Note],
    tail_s: float = 0.5,
    block: int = 4096,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """A whole file's notes, from silence, to its last note's end plus `tail_s`."""
    rate = renderer.sample_rate
    events = note_events(notes, rate)
    length = round((max((n.end for n in notes), default=0.0) + tail_s) * rate)
    renderer.reset()
    out = []
    for n, inside in blocks_of(events, length, block):
        out.append(renderer.render(n, inside))
        if progress is not None:
            progress(n)
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)
