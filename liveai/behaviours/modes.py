"""A mode as the registry serves it: its name, how a session's behaviour is made, and
what it adds to the server (commands, transport actions, status). Most modes are a
name and a factory `(ctx, ears) -> Behaviour`; morph (morph_mode.py) extends Mode with
its slots."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..core.behaviour import Behaviour
from ..core.commands import CommandDef
from ..core.context import Context
from ..music.note import Note

if TYPE_CHECKING:  # the listener feeds a model: it brings torch, which a server without one never loads
    from .listener import Listener

MakeBehaviour = Callable[[Context, "Listener | None"], Behaviour]
Action = Callable[[Context, list[Note]], None]  # a transport action on a session: (ctx, played lately)


class Mode:
    unavailable = ""  # why it cannot run in this server ("": it can)
    not_at_start = ""  # why it cannot be `server.mode` ("": it can)

    def __init__(
        self,
        name: str,
        make: MakeBehaviour,
        *,
        needs_model: bool = False,
        plays_alone: bool = False,  # without the player (after a panic, only play or a mode resumes it)
    ) -> None:
        self.name = name
        self._make = make
        self.needs_model = needs_model
        self.plays_alone = plays_alone
        self.commands: tuple[CommandDef, ...] = ()
        self.actions: Mapping[str, Action] = {}  # the transport actions (config.types.CAPTURES) it does

    def make(self, ctx: Context, ears: Listener | None) -> Behaviour:
        return self._make(ctx, ears)

    def check(self, session: str) -> None:
        """Raise CommandError when it cannot start in `session` now ("" or the shared
        session: in any)."""

    def close(self, session: str) -> None:
        """A session closed: forget what the mode kept for it."""

    def status(self) -> dict[str, Any]:
        return {}


def heard(ears: Listener | None) -> Listener:
    """The ears a model mode plays from (Registry.check refuses it without a model)."""
    assert ears is not None, "Registry.check refuses a model mode without a model"
    return ears
