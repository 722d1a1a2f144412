"""Harmonize with a model: on each note-on it proposes 1-3 notes to sound with it.

The model is constrained to the key, scale and register of the shared state; note-offs
follow the player's. The answer must come within `budget.harmonize_ms` of the note's
arrival: if it does not, the rule-based harmonizer answers instead, the miss is counted,
and the model's job is cancelled (skipped if it has not started: a model slower than
the notes never builds a backlog). A key released before any answer gets none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.context import Context
from ..core.jobs import JobHandle
from ..core.output import Timer
from ..events import NoteOff, NoteOn
from ..models import codec
from ..music.scales import scale_of
from . import jobs
from .listener import Listener
from .rule_harmonize import RuleHarmonizer, voices_for


@dataclass
class _Pending:
    event: NoteOn
    job: JobHandle | None = None
    timer: Timer | None = None
    settled: bool = False
    voices: list[int] = field(default_factory=list)


class ModelHarmonizer(RuleHarmonizer):
    """Voices chosen by the continuation model (harmonize.by = "continuation"); the
    budget, the rule's fallback and the note-offs for every model harmonizer."""

    name = "harmonize"

    def __init__(self, ctx: Context, listener: Listener) -> None:
        super().__init__(ctx)
        self.budget_s = ctx.config.budget.harmonize_ms / 1000.0
        self.listener = listener
        self._pending: dict[tuple[int, int], _Pending] = {}
        self._last_job: JobHandle | None = None

    def candidates(self, played: int) -> list[int]:
        """Pitches a voice may take: in key and register, not the played or a held note,
        and near the played note (within an octave and a fifth), as a chord voice is."""
        ctx = self.ctx
        scale = scale_of(ctx.state["key"], ctx.state["scale"])
        low, high = ctx.state["low"], ctx.state["high"]
        taken = ctx.keys.pitches() | {played}
        return [p for p in range(low, high + 1) if p in scale and p not in taken and abs(p - played) <= 19]

    def note_on(self, event: NoteOn) -> None:
        key = (event.channel, event.pitch)
        self._settle(key)
        if self._last_job is not None and not self._last_job.done():
            # the model has not reached the previous note yet: it cannot be in time for this one
            self.ctx.miss("harmonize", "the model is still busy with earlier notes; the rule answers")
            self.answer(event, self.fallback(event.pitch))
            return
        pending = _Pending(event)
        self._pending[key] = pending
        pending.job = self._last_job = self.ask(pending)
        pending.timer = self.ctx.call_at(event.t + self.budget_s, lambda: self._late(pending))

    def ask(self, pending: _Pending) -> JobHandle | None:
        """Submit the model's job for a played note; it answers with `_model_answer`."""
        reply = self.ctx.replier(lambda voices: self._model_answer(pending, voices))
        job = jobs.harmony(
            self.listener.sampler,
            self.listener.rng,
            self.candidates(pending.event.pitch),
            self.config.voices,
            float(self.ctx.state["temperature"]),
            reply,
        )
        return self.listener.submit(job)

    def fallback(self, pitch: int) -> list[int]:
        """The rule's voices, when the model is late or finds none."""
        return voices_for(self.config, pitch, self.ctx.state["key"], self.ctx.state["scale"])

    def _model_answer(self, pending: _Pending, voices: list[int] | None) -> None:
        """The model's voices (None: none fits the constraints, the rule's are taken)."""
        if pending.settled:
            return  # too late: the rule already answered, or the key was released
        pending.settled = True
        if pending.timer is not None:
            pending.timer.cancel()
        if voices is None:
            voices = self.fallback(pending.event.pitch)
        else:
            self.heard(voices)
        self.answer(pending.event, voices)

    def heard(self, voices: list[int]) -> None:
        """The continuation model fed itself the voices it chose: its clock agrees."""
        now = self.ctx.now()
        for pitch in voices:
            self.listener.heard_own(codec.note_on(pitch), now)

    def _late(self, pending: _Pending) -> None:
        if pending.settled:
            return
        pending.settled = True
        if pending.job is not None:
            pending.job.cancel()  # not yet run: the worker skips it (under overload, no backlog grows)
        self.ctx.miss("harmonize", f"no model answer within {self.budget_s * 1000:g} ms; the rule answers")
        self.answer(pending.event, self.fallback(pending.event.pitch))

    def note_off(self, event: NoteOff) -> None:
        key = (event.channel, event.pitch)
        self._settle(key)
        super().note_off(event)

    def _settle(self, key: tuple[int, int]) -> None:
        """The key is released or struck again: an answer still on its way is not wanted."""
        pending = self._pending.pop(key, None)
        if pending is not None and not pending.settled:
            pending.settled = True
            if pending.timer is not None:
                pending.timer.cancel()
            if pending.job is not None:
                pending.job.cancel()

    def _release_key(self, key: tuple[int, int], origin: float | None) -> None:
        self.ended(self._voices.get(key, []))
        super()._release_key(key, origin)

    def ended(self, voices: list[int]) -> None:
        now = self.ctx.now()
        for pitch in voices:
            self.listener.encode("off", pitch, 0, now)  # the model hears its voices end
        self.listener.flush()

    def busy(self, now: float) -> bool:
        return bool(self._pending) or super().busy(now)

    def release(self) -> None:
        for key in list(self._pending):
            self._settle(key)
        super().release()
