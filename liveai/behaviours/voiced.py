"""Harmonize with the harmony model (harmonize.by = "harmony", the default).

At each note-on the session's Voicer (liveai.models.voicer) steps the harmony model
once, on the model worker, and chooses a voicing under the key, register and voice
count set now, the voices moving as little as they can. The budget, the rule's
fallback, the note-offs and the pedal are the model harmonizer's (harmonize.py). The
continuation model still hears the player (other modes need it), not these voices.
"""

from __future__ import annotations

from ..core.context import Context
from ..core.jobs import JobHandle
from ..events import NoteOn
from ..models.harmony import BEAT_TOLERANCE_Q, HarmonyModel
from ..models.voicer import Ask, Voicer
from ..music.scales import KEY_PITCH_CLASS, MINOR_SCALES, scale_of
from ..music.voicing import consonant
from .harmonize import ModelHarmonizer, _Pending
from .listener import Listener

# The fallback's chords in scale steps under the melody (as the root, the fifth, the third
# of a close triad), the first that is consonant and full taken; then the melody an octave down.
UNDER = ((-3, -5), (-2, -4), (-2, -5))


class VoicedHarmonizer(ModelHarmonizer):
    def __init__(self, ctx: Context, listener: Listener, model: HarmonyModel) -> None:
        super().__init__(ctx, listener)
        # on the worker thread, or on the loop while the worker is held (Worker._owner):
        # never both at once, so the shared rng is safe
        self.voicer = Voicer(model, listener.rng)
        # the only meter setting is the duet's (its bar lines); harmonize counts bars by it too
        self.beats_per_bar = ctx.config.duet.beats_per_bar
        # the chord last sounded, the model's or the rule's (melody first): the voicer
        # leads from it, never from a chord it chose that came too late to sound
        self._sounded: tuple[int, ...] = ()

    def ask(self, pending: _Pending) -> JobHandle | None:
        ctx = self.ctx
        key, scale = ctx.state["key"], ctx.state["scale"]
        event = pending.event
        ask = Ask(
            event.pitch,
            KEY_PITCH_CLASS[key],
            scale in MINOR_SCALES,
            self.config.voices,
            scale_of(key, scale).pitch_classes,
            int(ctx.state["low"]),
            int(ctx.state["high"]),
            self.config.above,
            beat_position(event.t, ctx, self.beats_per_bar),
            float(ctx.state["temperature"]),
            ctx.keys.pitches() - {event.pitch},
            self._sounded,
        )
        return ctx.submit(
            lambda: self.voicer.voice(ask),
            lambda voices: self._model_answer(pending, voices),
            quick=True,
        )

    def fallback(self, pitch: int) -> list[int]:
        """The rule's voices under the melody, as the model's are: a late answer must not
        jump above the tune. Those that fall below the register or on a held key are left
        out; only a note with no room under it is voiced above, inside the register."""
        if self.config.above:
            return super().fallback(pitch)
        ctx = self.ctx
        scale = scale_of(ctx.state["key"], ctx.state["scale"])
        low, count = int(ctx.state["low"]), self.config.voices
        held = ctx.keys.pitches()
        best: list[int] = []
        for shape in UNDER:
            voices: list[int] = []
            for p in [*(scale.step(pitch, d) for d in shape), pitch - 12]:
                if (
                    len(voices) < count
                    and p is not None
                    and low <= p < pitch
                    and p not in held
                    and p not in voices
                    and consonant([pitch, *voices, p])
                ):
                    voices.append(p)
            if len(voices) == count:
                return voices
            best = max(best, voices, key=len)
        if best:
            return best
        # no room under the note (it is at the register's floor): the rule's voices above, in the register
        return [p for p in super().fallback(pitch) if low <= p <= int(ctx.state["high"]) and p not in held]

    def answer(self, event: NoteOn, pitches: list[int]) -> None:
        super().answer(event, pitches)
        self._sounded = (event.pitch, *sorted(pitches))

    def heard(self, voices: list[int]) -> None:
        pass  # the continuation model did not choose these voices: it does not hear them

    def ended(self, voices: list[int]) -> None:
        pass

    def release(self) -> None:
        super().release()
        self._sounded = ()
        self.ctx.submit(self.voicer.reset)  # on the worker, after the chords before


def beat_position(t: float, ctx: Context, beats_per_bar: int = 4) -> float | None:
    """Quarter notes since the bar line while a clock runs (beats counted from its start,
    `beats_per_bar` to the bar; a hair before a bar line is negative); None when no clock runs."""
    clock = ctx.clock
    if not clock.playing or clock.last_beat is None:
        return None
    n, at = clock.last_beat
    q = (n + (t - at) * clock.bpm(t) / 60.0) % beats_per_bar
    # the model's beat_of knows bar lines at multiples of 4 (it learned 4/4): a note just
    # before this meter's bar line must read as on it
    return q - beats_per_bar if beats_per_bar - q <= BEAT_TOLERANCE_Q else q
