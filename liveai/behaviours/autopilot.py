"""Autopilot: endless generation for installations, steerable at any time.

The model plays on its own, `autopilot.horizon_s` ahead of now, chunk after chunk.
Temperature, key/scale and register come from the shared state at every chunk, so
OSC, MIDI CC and MQTT steer it live; density (0-1) sets a target of notes per second
that a small controller holds by biasing note-on and time-shift logits. Memory stays bounded:
the Transformer's window slides, and every `autopilot.reprime_s` the state restarts
from the autopilot's own recent output. Notes the player plays are heard (the session
feeds them) and colour what comes next.
"""

from __future__ import annotations

import math
from collections import deque

from ..core.context import Context
from ..core.jobs import JobHandle
from ..core.output import Timer
from ..models.sampling import Constraints
from ..music.scales import scale_of
from . import jobs
from .base import BaseBehaviour
from .listener import Listener
from .part import Part

CHUNK_TOKENS = 48
DENSITY_WINDOW_S = 3.0
BIAS_GAIN = 1.5
BIAS_LIMIT = 10.0
RECENT_TOKENS = 256


class Autopilot(BaseBehaviour):
    name = "autopilot"

    def __init__(self, ctx: Context, listener: Listener) -> None:
        super().__init__(ctx)
        self.config = ctx.config
        self.listener = listener
        self.part: Part | None = None
        self.job: JobHandle | None = None
        self.timer: Timer | None = None
        self.recent: deque[int] = deque(maxlen=RECENT_TOKENS)
        self.primed_at = 0.0
        self.bias = 0.0
        self.running = False

    def start(self) -> None:
        ctx = self.ctx
        self.running = True
        self.primed_at = ctx.now()
        self.part = Part(ctx, self.listener, ctx.now() + ctx.lookahead_s(), self.config.autopilot.channel - 1)
        self._request()

    # -- steering ---------------------------------------------------------------------------
    def target_rate(self, density: float) -> float:
        """density 0..1 -> notes per second, on a log scale between the configured bounds."""
        a = self.config.autopilot
        return a.min_notes_per_s * (a.max_notes_per_s / a.min_notes_per_s) ** min(max(density, 0.0), 1.0)

    def observed_rate(self, now: float) -> float | None:
        assert self.part is not None
        recent = [t for t in self.part.note_times if t > now - DENSITY_WINDOW_S]
        self.part.note_times = recent  # bounded: only the window is kept
        span = min(DENSITY_WINDOW_S, max(self.part.time - self.part.start, 0.0))
        return len(recent) / span if span >= 1.0 else None

    def _steer(self) -> None:
        observed = self.observed_rate(self.ctx.now())
        if observed is None:
            return
        target = self.target_rate(float(self.ctx.state["density"]))
        error = math.log((target + 0.1) / (observed + 0.1))
        self.bias = min(max(self.bias + BIAS_GAIN * error * 0.5, -BIAS_LIMIT), BIAS_LIMIT)

    def constraints(self) -> Constraints:
        state = self.ctx.state
        return Constraints(
            pitch_low=state["low"],
            pitch_high=state["high"],
            pitch_classes=scale_of(state["key"], state["scale"]).pitch_classes,
            max_polyphony=self.config.autopilot.max_polyphony,
        )

    # -- generation --------------------------------------------------------------------------
    def _request(self) -> None:
        if not self.running:
            return
        assert self.part is not None
        ctx = self.ctx
        self._steer()
        if ctx.now() - self.primed_at > self.config.autopilot.reprime_s:
            self.primed_at = ctx.now()
            self.listener.reset(prime=list(self.recent))  # bounded, fresh, and still in character
        self.job = self.listener.submit(
            jobs.continuation(
                self.listener.sampler,
                self.constraints(),
                float(ctx.state["temperature"]),
                self.config.autopilot.horizon_s,
                CHUNK_TOKENS,
                bias=jobs.density_bias(self.bias),
                reply=ctx.replier(self._chunk),
            )
        )

    def _chunk(self, tokens: list[int]) -> None:
        if not self.running or self.part is None:
            return
        ctx = self.ctx
        skipped = self.part.skipped
        self.part.add(tokens)
        self.recent.extend(tokens)
        if self.part.skipped > skipped:
            late = self.part.skipped - skipped
            said = "1 note came too late and was" if late == 1 else f"{late} notes came too late and were"
            ctx.miss("autopilot", f"{said} skipped")
        now = ctx.now()
        if self.part.time < now:  # fell behind (or only silence so far): start again from now
            self.part.finish()
            self.part = Part(
                ctx,
                self.listener,
                now + ctx.lookahead_s(),
                self.config.autopilot.channel - 1,
            )
        ahead = self.part.time - now
        horizon = self.config.autopilot.horizon_s
        if ahead < horizon:
            self._request()
        else:
            self.timer = ctx.call_at(self.part.time - horizon, self._request)

    def busy(self, now: float) -> bool:
        return self.running  # it plays on its own

    def release(self) -> None:
        self.running = False
        if self.job is not None:
            self.job.cancel()
        if self.timer is not None:
            self.timer.cancel()
        if self.part is not None:
            self.part.cancel()
        self.listener.rewind(self.ctx.now())
