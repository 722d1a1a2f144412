"""What the core knows of behaviours: protocols only. The behaviours themselves and the
registry that makes them live in `liveai.behaviours`; the server hands the registry in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..events import ControlChange, NoteOff, NoteOn

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from ..music.note import Note
    from .context import Context
    from .keys import Key


class Behaviour(Protocol):
    """A mode at play in one session: made for it with the session's Context (which it
    keeps), it hears the session's notes and answers through that Context, and `release`
    silences exactly what it sounds."""

    name: str

    def note_on(self, event: NoteOn) -> None: ...
    def note_off(self, event: NoteOff) -> None: ...
    def control(self, event: ControlChange) -> None: ...
    def beat(self, n: int, t: float) -> None: ...
    def upcoming_beat(self, n: int, t: float) -> None:
        """Beat `n` is due at `t`, a lookahead from now (the clock's prediction). It may
        come again for the same n with a new time (a tempo change), and not at all
        (the first beat after a MIDI Start): `beat` says when a beat really began."""
        ...

    def value_changed(self, name: str, value: float) -> None:
        """One of the CONTROLS (temperature, tempo, morph, density) was set."""
        ...

    def continue_(self, beats: float) -> None: ...
    def start(self) -> None: ...
    def release(self) -> None: ...
    def busy(self, now: float) -> bool:
        """Whether it sounds or plays anything now: a busy session is never evicted."""
        ...


class Ears(Protocol):
    """A session's hearing, whatever the mode: every played note reaches its model state
    as it arrives, so a model behaviour never re-reads the past when it must answer."""

    def hearing(self, event: NoteOn | NoteOff, key: Key) -> AbstractContextManager[None]:
        """Hear a played note (`key`: when it was struck, how hard) while the behaviour has
        its turn with it: what was heard is sent on after the turn."""
        ...

    def reset(self) -> None:
        """Forget everything heard (after a panic)."""
        ...


class Behaviours(Protocol):
    """The registry as the engine sees it."""

    def check(self, mode: str, has_model: bool, session: str = "") -> None:
        """Raise CommandError when `mode` cannot run here (in `session`, "" for every
        session), before anything is released."""
        ...

    def ears(self, ctx: Context) -> Ears | None: ...
    def make(self, mode: str, ctx: Context, ears: Ears | None) -> Behaviour:
        """`mode`'s behaviour for the session of `ctx`, hearing through `ears`."""
        ...

    def stopped(self, mode: str, ctx: Context) -> Behaviour:
        """What stands in for `mode` while a panic or a stop holds its session: silent."""
        ...

    def plays_alone(self, mode: str) -> bool:
        """Whether `mode` plays without the player (autopilot, morph): only play or a mode
        command resumes it; a mode that answers the player resumes when they play."""
        ...

    def close(self, session: str) -> None:
        """A session closed: forget what the registry kept for it."""
        ...

    def trigger(self, action: str, ctx: Context, played: list[Note]) -> None:
        """A capture (config.types.CAPTURES) a MIDI CC or program is mapped to, for the
        session of `ctx`, which played `played` lately (the engine does the
        TRANSPORT_ACTIONS: panic, play, stop)."""
        ...
