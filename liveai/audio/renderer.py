"""The synth as one object: notes in, audio out, block by block, with every state
kept (voices, oscillators, noise counter, the network's pasts). The live engine's
render process and `liveai render` both play through it, so what a file renders to is
what the stream plays (which then applies `audio.gain`).

The network's step runs as matrix products compiled by TorchScript
(liveai.models.synth_step), several times faster than the eager convolutions.

Idle costs nothing. When no voice sounds, the features are zeros, and once the network
has heard zeros for its whole receptive field its state no longer moves and its output
is one constant (its silence: exactly zero for the linear form, near zero for the
first synths). Such a block is that constant, with neither features nor network
computed: the same samples the network would give, so streaming still equals offline.

Every block then passes the DC blocker (`dc_blocker`, a 5 Hz high-pass; its state is
reset with the rest): the network's slow offset after low notes is not played.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..models.synth import SynthNet
from ..models.synth_step import Step, compile_step
from ..music.note import Note
from .dc_blocker import DCBlocker
from .features import NoteEvent, NoteFeatures, blocks_of, note_events


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
