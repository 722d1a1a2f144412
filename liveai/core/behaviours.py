"""Model-free behaviours: off, thru and harmonize-by-rule.

They stay as the fallbacks when a model misses its budget. A behaviour hears the
player's notes and answers through `send` (immediate) or `schedule` (timed); it
remembers what it sounds so `release` can silence exactly that.
"""

from __future__ import annotations

from typing import Callable, Protocol

from ..config import HarmonizeConfig
from ..events import ControlChange, Event, NoteOff, NoteOn
from .scales import Scale, fit_range

Send = Callable[[Event], None]


class Behaviour(Protocol):
    name: str

    def note_on(self, event: NoteOn, send: Send) -> None: ...
    def note_off(self, event: NoteOff, send: Send) -> None: ...
    def control(self, event: ControlChange, send: Send) -> None: ...
    def release(self, send: Send) -> None: ...


class Off:
    """Listens and says nothing."""

    name = "off"

    def note_on(self, event: NoteOn, send: Send) -> None:
        pass

    def note_off(self, event: NoteOff, send: Send) -> None:
        pass

    def control(self, event: ControlChange, send: Send) -> None:
        pass

    def release(self, send: Send) -> None:
        pass


class Thru(Off):
    """Echoes every note and unmapped CC as it came."""

    name = "thru"

    def note_on(self, event: NoteOn, send: Send) -> None:
        send(NoteOn(event.pitch, event.velocity, event.channel, t=event.t, origin=event.t))

    def note_off(self, event: NoteOff, send: Send) -> None:
        send(NoteOff(event.pitch, event.channel, t=event.t, origin=event.t))

    def control(self, event: ControlChange, send: Send) -> None:
        send(ControlChange(event.controller, event.value, event.channel, t=event.t, origin=event.t))


class RuleHarmonizer:
    """Adds voices at fixed intervals, snapped to the key and scale, kept in range."""

    name = "harmonize"

    def __init__(self, config: HarmonizeConfig) -> None:
        self.config = config
        self.scale = Scale(config.key, config.scale)
        # (source, channel, played pitch) -> the harmony pitches sounding for it
        self._voices: dict[tuple[str, int, int], list[int]] = {}

    def voices_for(self, pitch: int) -> list[int]:
        """The harmony pitches for a played pitch (never the pitch itself, no repeats)."""
        c = self.config
        out: list[int] = []
        for interval in c.intervals:
            if c.interval_unit == "degrees":
                candidate = self.scale.step(pitch, interval)
            else:
                candidate = self.scale.snap(min(max(pitch + interval, 0), 127))
            if candidate is None:
                continue
            fitted = fit_range(candidate, c.low, c.high)
            if fitted is not None and fitted != pitch and fitted not in out:
                out.append(fitted)
        return out

    def note_on(self, event: NoteOn, send: Send) -> None:
        key = (event.source, event.channel, event.pitch)
        self._release_key(key, event.t, send)  # a retrigger replaces the old voices
        velocity = max(1, min(127, round(event.velocity * self.config.velocity_scale)))
        pitches = self.voices_for(event.pitch)
        self._voices[key] = pitches
        for pitch in pitches:
            send(NoteOn(pitch, velocity, event.channel, t=event.t, origin=event.t))

    def note_off(self, event: NoteOff, send: Send) -> None:
        self._release_key((event.source, event.channel, event.pitch), event.t, send)

    def control(self, event: ControlChange, send: Send) -> None:
        pass

    def release(self, send: Send) -> None:
        for key in list(self._voices):
            self._release_key(key, None, send)

    def _release_key(self, key: tuple[str, int, int], origin: float | None, send: Send) -> None:
        for pitch in self._voices.pop(key, []):
            send(NoteOff(pitch, key[1], origin=origin))


def make_behaviour(mode: str, harmonize: HarmonizeConfig) -> Behaviour:
    if mode == "off":
        return Off()
    if mode == "thru":
        return Thru()
    if mode == "harmonize":
        return RuleHarmonizer(harmonize)
    raise KeyError(mode)
