"""Morph as a mode: each session's desk (its slots a and b), the reader of phrase files,
and the commands and captures that fill the slots. Its handlers are its own methods,
bound when the mode is made, so they reach the desks without asking the engine."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config.types import CAPTURES, SessionId, Slot
from ..core.commands import Request, command, player_source
from ..core.context import Context
from ..core.engine import Engine
from ..core.session import SHARED
from ..errors import CommandError
from ..music.note import Note
from .modes import Mode
from .morph import Morph
from .morph_desk import Desk, Pattern, status_of
from .phrases import PhraseReader, captured

if TYPE_CHECKING:  # they bring torch: a server without models starts without it
    from ..models.vae import MelodyVAE
    from .listener import Listener

NO_VAE = "morph needs the morph model (model.morph) and the continuation model's worker"


class MorphMode(Mode):
    not_at_start = "morph starts with empty slots; start in another mode and capture"

    def __init__(self, vae: MelodyVAE | None, reader: PhraseReader) -> None:
        super().__init__("morph", self._morph, needs_model=True, plays_alone=True)
        self.vae = vae
        self.reader = reader  # morph/load's files, one at a time
        self.desks: dict[str, Desk] = {}  # session key -> its slots (they outlive its modes)
        self.commands = (
            command("morph/capture")(self.capture_command),
            command("morph/load")(self.load_command),
        )
        self.actions = {action: partial(self.capture, slot) for action, slot in CAPTURES.items()}

    @property
    def unavailable(self) -> str:  # type: ignore[override]
        return NO_VAE if self.vae is None else ""

    def _morph(self, ctx: Context, ears: Listener | None) -> Morph:
        return Morph(ctx, self.desk(ctx))

    def check(self, session: str) -> None:
        desks = list(self.desks.values()) if session in ("", SHARED) else [self.desks.get(session)]
        if not any(d is not None and d.slots for d in desks):
            raise CommandError(
                "unavailable",
                "morph: slots a and b are both empty; capture a phrase "
                "(/liveai/morph/capture a) or load one (/liveai/morph/load a file.mid)",
            )

    def desk(self, ctx: Context) -> Desk:
        if self.vae is None or ctx.models is None:
            raise CommandError("unavailable", NO_VAE)
        desk = self.desks.get(ctx.session)
        if desk is None:
            desk = self.desks[ctx.session] = Desk(ctx, self.vae)
        return desk

    def close(self, session: str) -> None:
        """A session closed: its slots go with it."""
        desk = self.desks.pop(session, None)
        if desk is not None:
            desk.closed = True

    def capture(self, slot: str, ctx: Context, played: list[Note]) -> None:
        """The last two bars of `played` into a slot of the session's desk."""
        desk = self.desk(ctx)
        clock, now = ctx.clock, ctx.now()
        desk.capture(
            slot, captured(played, now, 60.0 / clock.bpm(now), clock.last_beat if clock.playing else None)
        )

    def status(self) -> dict[str, Any]:
        return status_of(self.desks)

    # -- commands ---------------------------------------------------------------------
    def capture_command(
        self, engine: Engine, request: Request, slot: Slot, session: SessionId | None = None
    ) -> None:
        """The last two bars played go into slot a or b, on the clock's 16th grid (while the
        clock runs, its bar lines cut the phrase; when stopped, it starts on the phrase's
        first note). Fewer than 2 notes is refused and the slot is unchanged. `session`: as
        for /liveai/note."""
        target = engine.sessions.get(player_source(request, session))
        self.capture(slot, target.ctx, target.recorder.notes(engine.now()))

    def load_command(
        self, engine: Engine, request: Request, slot: Slot, path: str, session: SessionId | None = None
    ) -> None:
        """The first two bars of a MIDI file in `morph.folder` go into slot a or b (its top
        voice), read off the loop (`/liveai/out/morph_ready` says when it is in), one file at a
        time: while one is read, the latest asked for each slot waits its turn. Paths leading
        out of the folder, missing and big files are refused at once, broken ones when read
        (naming the folder's absolute path); the slot is unchanged."""
        ctx = engine.sessions.get(player_source(request, session)).ctx
        desk = self.desk(ctx)
        captures = desk.captures.get(slot, 0)
        folder = Path(engine.config.morph.folder).expanduser().absolute()  # refusals name where it is

        def read(result: Pattern | CommandError) -> None:
            refusal = desk.loaded(slot, result, captures)
            if refusal is not None:
                request.replies.refuse(request, "morph/load", refusal)

        self.reader.read(folder, path, read, slot=(ctx.session, slot))
