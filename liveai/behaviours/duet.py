"""Duet: call and response. The player plays a phrase; when they pause, the model answers.

A phrase ends when no key is held and nothing new has arrived for `duet.phrase_gap_ms`
(a long held note is still playing, never a pause), or, while a clock runs, when a bar
ends. The answer lasts about as long as the phrase (clamped), starts with a note on
the phrase's grid (a running clock's beats, else the pulse of its onsets) carried
forward, keeps its notes on that grid in the phrase's touch, is generated in chunks on
the worker and scheduled a lookahead ahead on the clock. When the player plays again
the answer yields at once: what has not sounded is withdrawn, what sounds gets its
note-off. `/liveai/continue [beats]` answers now.
"""

from __future__ import annotations

import math

from ..core.context import Context
from ..core.jobs import JobHandle
from ..core.output import Timer
from ..events import NoteOff, NoteOn
from ..models import codec
from ..models.rhythm import Rhythm
from ..models.sampling import Constraints
from ..models.tonality import KeyBalance, follow_key
from ..music.note import Note
from ..music.pulse import (
    Pulse,
    clock_pulse,
    infer_pulse,
    most_together,
    onset_groups,
    rhythm_pattern,
    shortest_ioi,
)
from ..music.scales import scale_of
from ..music.tonality import phrase_emphasis
from ..music.touch import touch_of
from . import jobs
from .base import BaseBehaviour
from .listener import Listener
from .part import LATE_S, Part

FIRST_CHUNK_TOKENS = 8  # at most; the first chunk ends with the first note, out within the budget
CHUNK_TOKENS = 64
RECENT_S = 6.0  # what a phrase too short to show a pulse is heard with
PACE_LIMIT = 6.0  # |logit lean| towards the call's pace (duet.pace_pull per unit of log pace ratio)


class Answer:
    """One response being generated and played."""

    def __init__(
        self,
        ctx: Context,
        listener: Listener,
        seconds: float,
        asked_at: float,
        phrase_start: float,
    ) -> None:
        self.ctx = ctx
        self.listener = listener
        self.config = config = ctx.config
        self.asked_at = asked_at
        d = config.duet
        start = ctx.now() + ctx.lookahead_s()
        played = list(listener.played)
        call = [n for n in played if n.start >= phrase_start - 1e-6]
        grid = d.quantize_beats * 60.0 / max(ctx.clock.bpm(ctx.now()), 1.0)
        self.rhythm: Rhythm | None = None
        # a phrase of one or two notes shows no pulse: the player's last few seconds may
        heard = (
            call
            if len(onset_groups(call)) >= 3
            else [n for n in played if n.start >= phrase_start - RECENT_S]
        )
        pulse = self._pulse(heard)
        if not grid and d.rhythm == "follow":
            if pulse is not None:  # the answer starts on the call's grid carried forward
                start = pulse.after(self._earliest(start))
            self.rhythm = self._rhythm(heard, call, pulse, start)
        touch = touch_of(call, pulse)
        velocity = (
            (lambda t: touch.velocity(t, (t - start) / max(seconds, 1e-3), d.velocity)) if touch else None
        )
        self.part = Part(
            ctx, listener, start, listener.channel, end=start + seconds, grid_s=grid, velocity=velocity
        )
        self.polyphony = (
            min(d.max_polyphony, most_together(call)) if d.rhythm == "follow" and call else d.max_polyphony
        )
        self.job: JobHandle | None = None
        self.cancelled = False
        self.first = True
        # The player's key is judged once: if they play again, this answer yields anyway.
        self.key_classes: frozenset[int] | None = None
        self.balance: KeyBalance | None = None
        if config.duet.key == "follow":
            memory = config.duet.key_memory
            emphasis = None if memory >= 1.0 else phrase_emphasis(played, phrase_start, earlier=memory)
            self.key_classes, self.balance = follow_key(played, config.duet.key_pull, emphasis)
        # the call's pace: onsets per second of the latest phrase, which the answer leans towards
        span = max((max(n.end for n in call) - min(n.start for n in call)) if call else 0.0, 0.25)
        self.target_rate = len(call) / span if len(call) >= 2 else None
        self.bias = 0.0
        self._request(FIRST_CHUNK_TOKENS)

    def _pulse(self, call: list[Note]) -> Pulse | None:
        """The grid the answer keeps to: a running clock's beats, else the call's own pulse."""
        pulse = infer_pulse(call)
        clock = self.ctx.clock
        if clock.playing and clock.last_beat is not None:
            beat_s = 60.0 / max(clock.bpm(self.ctx.now()), 1.0)
            return clock_pulse(clock.last_beat[1], beat_s, pulse.period if pulse else None)
        return pulse

    def _earliest(self, start: float) -> float:
        """Where the answer may begin: a lookahead from now; on a running clock, from
        the bar line that asked (begun already when its beat is told) as long as its
        first note is at most LATE_S late, rather than a grid step after it."""
        clock = self.ctx.clock
        if clock.playing and clock.last_beat is not None:
            return max(min(self.asked_at, start), start - LATE_S)
        return start

    def _rhythm(self, heard: list[Note], call: list[Note], pulse: Pulse | None, start: float) -> Rhythm:
        """The answer's onsets on the grid, leaning to the call's pattern; and a melody for
        a melody: no more at once than the call began, none sooner than half its shortest gap."""
        gap = shortest_ioi(heard)
        min_gap = int(gap / 2 / codec.TIME_STEP_S) if gap else 0
        together = max(most_together(call), 1)
        if pulse is None:
            return Rhythm(None, min_gap, together)
        pattern, places = rhythm_pattern(heard, pulse, pulse.index(start))
        return Rhythm(
            pulse.period / codec.TIME_STEP_S, min_gap, together, pattern, self.config.duet.rhythm_pull, places
        )

    def constraints(self) -> Constraints:
        d, state = self.config.duet, self.ctx.state
        classes = (
            scale_of(state["key"], state["scale"]).pitch_classes if d.key == "state" else self.key_classes
        )
        return Constraints(
            pitch_low=state["low"],
            pitch_high=state["high"],
            pitch_classes=classes,
            max_polyphony=self.polyphony,
        )

    def _request(self, max_tokens: int) -> None:
        left = max(self.part.end - self.part.time, 0.01) if self.part.end is not None else 1.0
        reply = self.ctx.replier(self._chunk)
        self._steer_pace()
        self.job = self.listener.submit(
            jobs.continuation(
                self.listener.sampler,
                self.constraints(),
                float(self.ctx.state["temperature"]),
                left,
                max_tokens,
                note_first=self.first,
                bias=jobs.density_bias(self.bias) if self.bias else None,
                balance=self.balance,
                reply=reply,
                until_note=self.first,
                rhythm=self.rhythm,
            )
        )

    def _steer_pace(self) -> None:
        """Lean the next chunk towards the call's pace, by what the answer did so far."""
        if self.target_rate is None or len(self.part.note_times) < 2 or not self.config.duet.pace_pull:
            return
        span = max(self.part.time - self.part.start, 0.25)
        observed = len(self.part.note_times) / span
        error = math.log((self.target_rate + 0.1) / (observed + 0.1))
        self.bias = min(max(self.bias + self.config.duet.pace_pull * error, -PACE_LIMIT), PACE_LIMIT)

    def _chunk(self, tokens: list[int]) -> None:
        if self.cancelled:
            return
        if self.first:
            self.first = False
            late_ms = (self.ctx.now() - self.asked_at) * 1000.0
            if late_ms > self.config.budget.duet_ms:
                self.ctx.miss("duet", f"first chunk after {late_ms:.1f} ms; the answer starts late")
        self.part.add(tokens)
        if self.part.done or not tokens:
            self.part.finish()
        else:
            self._request(CHUNK_TOKENS)

    def playing(self, now: float) -> bool:
        return not self.cancelled and (self.part.end is None or now < self.part.end)

    def cancel(self) -> None:
        self.cancelled = True
        if self.job is not None:
            self.job.cancel()
        self.part.cancel()
        self.listener.rewind(self.ctx.now())


class Duet(BaseBehaviour):
    name = "duet"

    def __init__(self, ctx: Context, listener: Listener) -> None:
        super().__init__(ctx)
        self.config = ctx.config
        self.listener = listener
        self.gap_s = self.config.duet.phrase_gap_ms / 1000.0
        self.phrase_start: float | None = None
        self.last_event = 0.0
        self.timer: Timer | None = None
        self.answer: Answer | None = None

    # -- the player ---------------------------------------------------------------------
    def note_on(self, event: NoteOn) -> None:
        self._yield_to_player()
        if self.phrase_start is None:
            self.phrase_start = event.t
        self.last_event = event.t

    def note_off(self, event: NoteOff) -> None:
        self.last_event = event.t
        if not self.ctx.keys and self.phrase_start is not None:
            self._arm(event.t + self.gap_s)

    def _arm(self, at: float) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.ctx.call_at(at, self._gap)

    def _gap(self) -> None:
        """The phrase gap has passed: answer if the player is still silent."""
        self.timer = None
        ctx = self.ctx
        if ctx.keys or self.phrase_start is None or ctx.now() - self.last_event < self.gap_s - 1e-6:
            return
        phrase = self.last_event - self.phrase_start
        d = self.config.duet
        self._respond(min(max(phrase, d.min_response_s), d.max_response_s), self.last_event + self.gap_s)

    def beat(self, n: int, t: float) -> None:
        d = self.config.duet
        if not d.answer_on_bar or n % d.beats_per_bar or n == 0:
            return
        if self.ctx.keys or self.phrase_start is None or (self.answer is not None and self.answer.playing(t)):
            return
        bar = d.beats_per_bar * 60.0 / max(self.ctx.clock.bpm(t), 1.0)
        self._respond(min(max(bar, d.min_response_s), d.max_response_s), t)

    def continue_(self, beats: float) -> None:
        self._yield_to_player()
        now = self.ctx.now()
        self._respond(beats * 60.0 / max(self.ctx.clock.bpm(now), 1.0), now)

    # -- the answer -------------------------------------------------------------------------
    def _respond(self, seconds: float, asked_at: float) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        phrase_start = self.phrase_start if self.phrase_start is not None else self.ctx.now()
        self.phrase_start = None
        self.answer = Answer(self.ctx, self.listener, seconds, asked_at, phrase_start)

    def _yield_to_player(self) -> None:
        if self.answer is not None:
            self.answer.cancel()
            self.answer = None

    def busy(self, now: float) -> bool:
        return self.phrase_start is not None or (self.answer is not None and self.answer.playing(now))

    def release(self) -> None:
        self._yield_to_player()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.phrase_start = None
