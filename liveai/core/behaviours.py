"""Model-free behaviours (off, thru, harmonize by rule) and the behaviour factory.

The rule-based ones stay as the fallbacks when a model misses its budget. A behaviour
hears its session's notes and answers through its Context: `send` (immediate) or
`schedule` (timed); it remembers what it sounds so `release` silences exactly that.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from ..config import HarmonizeConfig
from ..errors import CommandError
from ..events import ControlChange, NoteOff, NoteOn
from .context import Context
from .scales import Scale, fit_range

if TYPE_CHECKING:
    from ..play.listener import Listener


class Behaviour(Protocol):
    name: str

    def note_on(self, event: NoteOn, ctx: Context) -> None: ...
    def note_off(self, event: NoteOff, ctx: Context) -> None: ...
    def control(self, event: ControlChange, ctx: Context) -> None: ...
    def beat(self, n: int, t: float, ctx: Context) -> None: ...
    def continue_(self, beats: float, ctx: Context) -> None: ...
    def start(self, ctx: Context) -> None: ...
    def release(self, ctx: Context) -> None: ...


class Off:
    """Listens (the model still hears every note) and says nothing."""

    name = "off"

    def note_on(self, event: NoteOn, ctx: Context) -> None:
        pass

    def note_off(self, event: NoteOff, ctx: Context) -> None:
        pass

    def control(self, event: ControlChange, ctx: Context) -> None:
        pass

    def beat(self, n: int, t: float, ctx: Context) -> None:
        pass

    def continue_(self, beats: float, ctx: Context) -> None:
        raise CommandError("unavailable", f"continue needs duet mode (mode is {self.name})")

    def start(self, ctx: Context) -> None:
        pass

    def release(self, ctx: Context) -> None:
        pass


class Thru(Off):
    """Echoes every note and unmapped CC as it came."""

    name = "thru"

    def __init__(self) -> None:
        self._sounding: set[tuple[int, int]] = set()  # (channel, pitch) echoed and not yet off

    def note_on(self, event: NoteOn, ctx: Context) -> None:
        self._sounding.add((event.channel, event.pitch))
        ctx.send(NoteOn(event.pitch, event.velocity, event.channel, t=event.t, origin=event.t))

    def note_off(self, event: NoteOff, ctx: Context) -> None:
        self._sounding.discard((event.channel, event.pitch))
        ctx.send(NoteOff(event.pitch, event.channel, t=event.t, origin=event.t))

    def release(self, ctx: Context) -> None:
        for channel, pitch in sorted(self._sounding):
            ctx.send(NoteOff(pitch, channel, t=ctx.now()))
        self._sounding.clear()

    def control(self, event: ControlChange, ctx: Context) -> None:
        ctx.send(ControlChange(event.controller, event.value, event.channel, t=event.t, origin=event.t))


@lru_cache(maxsize=64)
def scale_of(key: str, scale: str) -> Scale:
    return Scale(key, scale)


class RuleHarmonizer(Off):
    """Adds voices at fixed intervals, snapped to the key and scale, kept in range."""

    name = "harmonize"

    def __init__(self, config: HarmonizeConfig) -> None:
        self.config = config
        # (channel, played pitch) -> the harmony pitches sounding for it. Not keyed by
        # sender: a note-off may come from another socket than its note-on (oscsend).
        self._voices: dict[tuple[int, int], list[int]] = {}

    def voices_for(self, pitch: int, key: str | None = None, scale: str | None = None) -> list[int]:
        """The harmony pitches for a played pitch (never the pitch itself, no repeats)."""
        c = self.config
        steps = scale_of(key or c.key, scale or c.scale)
        out: list[int] = []
        for interval in c.intervals:
            if c.interval_unit == "degrees":
                candidate = steps.step(pitch, interval)
            else:
                candidate = steps.snap(min(max(pitch + interval, 0), 127))
            if candidate is None:
                continue
            fitted = fit_range(candidate, c.low, c.high)
            if fitted is not None and fitted != pitch and fitted not in out:
                out.append(fitted)
        return out

    def answer(self, event: NoteOn, pitches: list[int], ctx: Context) -> None:
        """Sound `pitches` with the played note (used by the model harmonizer too)."""
        key = (event.channel, event.pitch)
        self._release_key(key, event.t, ctx)  # a retrigger replaces the old voices
        velocity = max(1, min(127, round(event.velocity * self.config.velocity_scale)))
        self._voices[key] = pitches
        for pitch in pitches:
            ctx.send(NoteOn(pitch, velocity, event.channel, t=event.t, origin=event.t))

    def note_on(self, event: NoteOn, ctx: Context) -> None:
        self.answer(event, self.voices_for(event.pitch, ctx.state.get("key"), ctx.state.get("scale")), ctx)

    def note_off(self, event: NoteOff, ctx: Context) -> None:
        self._release_key((event.channel, event.pitch), event.t, ctx)

    def release(self, ctx: Context) -> None:
        for key in list(self._voices):
            self._release_key(key, None, ctx)

    def _release_key(self, key: tuple[int, int], origin: float | None, ctx: Context) -> None:
        for pitch in self._voices.pop(key, []):
            ctx.send(NoteOff(pitch, key[0], t=ctx.now(), origin=origin))


def check_mode(mode: str, has_model: bool) -> None:
    """Refuse a mode that cannot run here, before anything is released."""
    if mode == "morph":
        raise CommandError("unavailable", "mode 'morph' needs the morph model, not available yet")
    if mode in ("duet", "autopilot") and not has_model:
        raise CommandError("unavailable", f"mode {mode!r} needs a model (model.continuation is not loaded)")


def make_behaviour(mode: str, ctx: Context, listener: Listener | None) -> Behaviour:
    """The behaviour for a mode; model modes need a loaded model (the listener)."""
    check_mode(mode, listener is not None)
    config = ctx.config
    if mode == "off":
        return Off()
    if mode == "thru":
        return Thru()
    if mode == "harmonize":
        if listener is None or config.harmonize.by == "rule":
            return RuleHarmonizer(config.harmonize)
        from ..play.harmonize import ModelHarmonizer

        return ModelHarmonizer(config, listener)
    if mode == "duet":
        from ..play.duet import Duet

        return Duet(config, listener)  # type: ignore[arg-type]
    if mode == "autopilot":
        from ..play.autopilot import Autopilot

        return Autopilot(config, listener)  # type: ignore[arg-type]
    raise CommandError("bad_value", f"unknown mode {mode!r}")
