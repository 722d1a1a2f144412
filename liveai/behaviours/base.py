"""The base every behaviour starts from: it hears everything and does nothing.

A behaviour is made for one session, with that session's Context, which it keeps: it
hears the session's notes and answers through `self.ctx`, `send` (immediate) or
`schedule` (timed); it remembers what it sounds so `release` silences exactly that.
"""

from __future__ import annotations

from ..core.context import Context
from ..errors import CommandError
from ..events import ControlChange, NoteOff, NoteOn


class BaseBehaviour:
    name = "base"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx  # its session's, for its whole life

    def note_on(self, event: NoteOn) -> None:
        pass

    def note_off(self, event: NoteOff) -> None:
        pass

    def control(self, event: ControlChange) -> None:
        pass

    def beat(self, n: int, t: float) -> None:
        pass

    def upcoming_beat(self, n: int, t: float) -> None:
        pass

    def value_changed(self, name: str, value: float) -> None:
        pass

    def continue_(self, beats: float) -> None:
        raise CommandError("unavailable", f"continue needs duet mode (mode is {self.name})")

    def start(self) -> None:
        pass

    def release(self) -> None:
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

    def __init__(self, ctx: Context, mode: str) -> None:
        super().__init__(ctx)
        self.name = mode
