"""The base every behaviour starts from: it hears everything and does nothing.

A behaviour hears its session's notes and answers through its Context: `send`
(immediate) or `schedule` (timed); it remembers what it sounds so `release` silences
exactly that.
"""

from __future__ import annotations

from ..core.context import Context
from ..errors import CommandError
from ..events import ControlChange, NoteOff, NoteOn


class BaseBehaviour:
    name = "base"

    def note_on(self, event: NoteOn, ctx: Context) -> None:
        pass

    def note_off(self, event: NoteOff, ctx: Context) -> None:
        pass

    def control(self, event: ControlChange, ctx: Context) -> None:
        pass

    def beat(self, n: int, t: float, ctx: Context) -> None:
        pass

    def upcoming_beat(self, n: int, t: float, ctx: Context) -> None:
        pass

    def value_changed(self, name: str, value: float, ctx: Context) -> None:
        pass

    def continue_(self, beats: float, ctx: Context) -> None:
        raise CommandError("unavailable", f"continue needs duet mode (mode is {self.name})")

    def start(self, ctx: Context) -> None:
        pass

    def release(self, ctx: Context) -> None:
        pass

    def busy(self, now: float) -> bool:
        """Whether it sounds or plays anything now (a busy session is never evicted)."""
        return False


class Off(BaseBehaviour):
    """Listens (the model still hears every note) and says nothing."""

    name = "off"


class Stopped(BaseBehaviour):
    """A session's mode stopped by a panic or a stop: it hears and says nothing until the
    session resumes the mode (it keeps the mode's name, so errors name the mode)."""

    def __init__(self, mode: str) -> None:
        self.name = mode
