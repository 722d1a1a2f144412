"""The synth as one object (#12): notes in, audio out, block by block, with every state
kept (voices, oscillators, noise counter, the network's pasts). The live engine's
render thread and `liveai render` both play through it, so what a file renders to is
what the stream plays.

`compile_step` makes the network's step a frozen TorchScript function: it runs without
Python between the layers (3/4 of the eager cost at 256 samples on this CPU) and
releases the GIL while it runs, so the event loop and the audio callback get it back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..models.synth import SynthNet
from ..music.note import Note
from .features import NoteFeatures, note_events

Step = Callable[[torch.Tensor, list[torch.Tensor]], tuple[torch.Tensor, list[torch.Tensor]]]


class _StepModule(torch.nn.Module):
    def __init__(self, net: SynthNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, features: torch.Tensor, pasts: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return self.net.step(features, pasts)


def compile_step(net: SynthNet) -> Step:
    """The network's step, scripted and frozen (weights as constants)."""
    scripted = torch.jit.script(_StepModule(net).eval())
    return torch.jit.freeze(scripted)  # type: ignore[no-any-return]


class SynthRenderer:
    def __init__(self, net: SynthNet, polyphony: int = 16, scripted: bool = True, seed: int = 0) -> None:
        self.net = net.eval()
        self.sample_rate = net.config.sample_rate
        self.polyphony = polyphony
        self.seed = seed
        self.step: Step = compile_step(net) if scripted else net.step
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

    @property
    def sample(self) -> int:
        """The next sample to render, counted from the first."""
        return self.features.sample

    def render(self, n: int, events: Sequence[tuple[int, int, int]] = ()) -> np.ndarray:
        """The next n samples (float32); `events` are (offset in the block, pitch,
        velocity; 0 = off), in order."""
        feats = self.features.block(n, events)
        with torch.inference_mode():
            audio, self.pasts = self.step(feats.to(self.net.inp.weight.device), self.pasts)
        return audio[0].cpu().numpy()

    def all_off(self) -> None:
        self.features.all_off()

    def voices(self) -> int:
        return self.features.sounding()


def render_notes(renderer: SynthRenderer, notes: Sequence[Note], tail_s: float = 0.5,
                 block: int = 4096, progress: Callable[[int], None] | None = None) -> np.ndarray:
    """A whole file's notes, from silence, to its last note's end plus `tail_s`."""
    rate = renderer.sample_rate
    events = note_events(notes, rate)
    length = round((max((n.end for n in notes), default=0.0) + tail_s) * rate)
    renderer.reset()
    out, i = [], 0
    for start in range(0, length, block):
        n = min(block, length - start)
        inside = []
        while i < len(events) and events[i][0] < start + n:
            inside.append((events[i][0] - start, events[i][1], events[i][2]))
            i += 1
        out.append(renderer.render(n, inside))
        if progress is not None:
            progress(n)
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)
