"""The render process's clock: liveai's notes placed on the stream's samples, and
each block rendered just in time.

Timing. Each callback leaves an anchor: sample `a` reached the callback at time `ta`;
so sample 0 reached it at ta - a / rate, the stream's start (the earliest of the last
0.25 s of anchors: callbacks run late, never early; a driver's lost cycles move the
start for good, and it follows them within 0.25 s; an underrun does not, as the ring
keeps every sample's time). The block from sample W reaches the callback at
start + W / rate; it is rendered `headroom` before that, late enough to hold every note
due until then, early enough to be ready. A note due at time t is placed at sample
(t - start) * rate + lead, where `lead` is a block and the headroom: a note due just
after a block's render began lands in the next one. So notes keep their spacing to the
sample and reach the callback a constant `lead` after they are due (a design value: at
256 frames and 8 ms of headroom, 13.3 ms; what a listener gets is measured from outside,
on JACK's clock, by `liveai bench --audio`). One that maps before what is already
rendered (it came late) starts at the next sample rendered and is counted late.

The logic alone, with no process or pipe around it: liveai.audio.render_process runs it.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np

from .features import NoteEvent
from .renderer import SynthRenderer
from .ring import Ring
from .wire import Record

KEPT = 4096  # render times kept for the status percentiles
# The stream's clock is read off this much of its latest callbacks: longer than a late
# callback, short enough to follow a driver that lost cycles (its sample count then
# stays behind the clock for good).
ANCHOR_WINDOW_S = 0.25


class Timeline:
    def __init__(
        self, renderer: SynthRenderer, ring: Ring, blocksize: int, headroom_s: float, gain: float = 1.0
    ) -> None:
        self.renderer, self.ring = renderer, ring
        self.rate = renderer.sample_rate
        self.blocksize = blocksize  # until the callback says how many frames it takes
        self.headroom_s = headroom_s
        self.headroom = round(headroom_s * self.rate)
        self.gain = gain
        self.render_us = np.zeros(KEPT)
        self.renders = self.late = 0
        self.reset()

    def reset(self) -> None:
        """A new stream: silence, and nothing of the old one's timing or notes."""
        self.renderer.reset()
        self.inbox: list[Record] = []  # as liveai sent them, not yet placed
        self.pending: list[NoteEvent] = []  # (sample, pitch, velocity, layer), placed, not yet rendered
        self.starts: deque[tuple[int, float]] = deque()  # (anchor sample, when sample 0 reached the callback)
        # the latest event placed: no later one before it
        self._last_time, self._last_sample = float("-inf"), 0
        self._last_on: dict[tuple[int, int], int] = {}  # each (layer, pitch)'s latest note-on sample

    @property
    def block(self) -> int:
        """Samples per render: what the callback takes each time."""
        return self.ring.header.frames or self.blocksize

    @property
    def lead(self) -> int:
        """Samples between a note's due time and its first sample reaching the callback."""
        return self.block + self.headroom

    def take(self, records: list[Record]) -> None:
        self.inbox.extend(records)

    # -- rendering -------------------------------------------------------------------------
    def due(self) -> float | None:
        """When to render the next block (time.monotonic()); None before the stream's
        first callback, or while the ring has no room for a block."""
        anchor = self.ring.anchor()
        if anchor is None or self.ring.space() < self.block:
            return None
        return self._stream_start(anchor) + self.ring.write_position() / self.rate - self.headroom_s

    def render_next(self) -> None:
        """Render the next block, with the notes it holds, into the ring (if it has room:
        the callback may have changed its block size since `due`)."""
        start, n = self.ring.write_position(), self.block
        if self.ring.space() < n:
            return
        events = self._events_in(start, n)
        began = time.perf_counter()
        audio = self.renderer.render(n, events)
        audio *= self.gain
        np.clip(audio, -1.0, 1.0, out=audio)
        self.render_us[self.renders % KEPT] = (time.perf_counter() - began) * 1e6
        self.renders += 1
        self.ring.write(audio)

    def _events_in(self, start: int, n: int) -> list[NoteEvent]:
        """The events of samples [start, start + n), as (offset, pitch, velocity, layer)."""
        anchor = self.ring.anchor()
        stream_start = None if anchor is None else self._stream_start(anchor)
        for t, pitch, velocity, layer in self.inbox:
            sample = start if stream_start is None else round((t - stream_start) * self.rate) + self.lead
            if t >= self._last_time:  # the stream's start moved between two notes: keep their order
                sample = max(sample, self._last_sample)
                self._last_time, self._last_sample = t, sample
            # a note-off never lands before its pitch's note-on (an answer's t can be older)
            if velocity == 0:
                sample = max(sample, self._last_on.get((layer, pitch), sample))
            else:
                self._last_on[layer, pitch] = sample
            self.pending.append((sample, pitch, velocity, layer))
        self.inbox.clear()
        if not self.pending:
            return []
        self.pending.sort(key=lambda e: e[0])  # stable: events at one sample keep their order
        events, kept = [], []
        for sample, pitch, velocity, layer in self.pending:
            if sample >= start + n:
                kept.append((sample, pitch, velocity, layer))
                continue
            if sample < start:
                if velocity > 0 and pitch >= 0:  # a note's start; an end or the pedal late is no news
                    self.late += 1
                sample = start
            # all notes off and the pedal, at their samples
            events.append((sample - start, pitch, velocity, layer))
        self.pending = kept
        return events

    def _stream_start(self, anchor: tuple[int, float]) -> float:
        """When sample 0 would have reached the callback: of the last ANCHOR_WINDOW_S of
        anchors, the earliest. A callback can only run late (a busy CPU, a slow driver),
        never early, so the earliest is the truest, and one late callback does not move
        the notes after it."""
        sample, at = anchor
        starts = self.starts
        if not starts or starts[-1][0] != sample:
            starts.append((sample, at - sample / self.rate))
            while at - starts[0][1] - starts[0][0] / self.rate > ANCHOR_WINDOW_S:
                starts.popleft()
        return min(start for _, start in starts)

    # -- what liveai's status shows ------------------------------------------------------------
    def report(self) -> None:
        """Publish the figures in the ring's header, for liveai's status."""
        h = self.ring.header
        renders = self.render_us[: min(self.renders, KEPT)]
        if len(renders):
            h.render_p50_us, h.render_p99_us = (int(us) for us in np.percentile(renders, (50, 99)).round())
        h.renders, h.late, h.voices = self.renders, self.late, self.renderer.voices()
