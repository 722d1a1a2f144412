"""The registry: each mode's name, its behaviour factory, whether it needs a model, and
the commands it adds to the control table. The server hands it to the engine, which
asks it for every session's behaviour; `liveai.control` adds its commands."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config
from ..config.types import CAPTURES, MODES, SessionId, Slot
from ..core.behaviour import Behaviour, Ears
from ..core.commands import CommandDef, Request, command, player_source
from ..core.context import Context
from ..core.engine import Engine
from ..core.session import SHARED
from ..errors import CommandError, ConfigError
from ..models.harmony import HarmonyModel
from ..models.vae import MelodyVAE
from ..music.note import Note
from .autopilot import Autopilot
from .base import Off, Stopped
from .duet import Duet
from .harmonize import ModelHarmonizer
from .listener import Listener
from .morph import Morph
from .morph_desk import Desk, status_of
from .phrases import PhraseReader, captured
from .rule_harmonize import RuleHarmonizer
from .thru import Thru
from .voiced import VoicedHarmonizer

MakeBehaviour = Callable[[Config, Listener | None], Behaviour]


@dataclass(frozen=True)
class Mode:
    name: str
    make: MakeBehaviour
    needs_model: bool = False
    unavailable: str = ""  # why this mode cannot run in this release
    commands: tuple[CommandDef, ...] = ()
    plays_alone: bool = False  # it plays without the player (after a panic only play or a mode resumes it)


def _harmonize(config: Config, listener: Listener | None, harmony: HarmonyModel | None = None) -> Behaviour:
    """By `harmonize.by`; "harmony" without its model is "continuation" (the loader said so)."""
    by = config.harmonize.by
    if listener is None or by == "rule":
        return RuleHarmonizer(config.harmonize)
    if by == "harmony" and harmony is not None:
        return VoicedHarmonizer(config, listener, harmony)
    return ModelHarmonizer(config, listener)


def _with_model(make: Callable[[Config, Listener], Behaviour]) -> MakeBehaviour:
    def checked(config: Config, listener: Listener | None) -> Behaviour:
        assert listener is not None, "Registry.check refuses a model mode without a model"
        return make(config, listener)

    return checked


_NO_VAE = "morph needs the morph model (model.morph) and the continuation model's worker"


def _registry(engine: Engine) -> Registry:
    registry = engine.behaviours
    assert isinstance(registry, Registry), "the server hands the engine a Registry"
    return registry


@command("morph/capture")
def morph_capture(engine: Engine, request: Request, slot: Slot, session: SessionId | None = None) -> None:
    """The last two bars played go into slot a or b, on the clock's 16th grid (while the
    clock runs, its bar lines cut the phrase; when stopped, it starts on the phrase's
    first note). Fewer than 2 notes is refused and the slot is unchanged. `session`: as
    for /liveai/note."""
    player = engine.sessions.get(player_source(request, session))
    _registry(engine).capture(slot, player.ctx, player.recorder.notes(engine.now()))


@command("morph/load")
def morph_load(
    engine: Engine, request: Request, slot: Slot, path: str, session: SessionId | None = None
) -> None:
    """The first two bars of a MIDI file in `morph.folder` go into slot a or b (its top
    voice), read off the loop (`/liveai/out/morph_ready` says when it is in), one file at a
    time: while one is read, the latest asked for each slot waits its turn. Paths leading
    out of the folder, missing and big files are refused at once, broken ones when read
    (naming the folder's absolute path); the slot is unchanged."""
    player = engine.sessions.get(player_source(request, session))
    registry = _registry(engine)
    desk, ctx = registry.desk(player.ctx), player.ctx
    assert ctx.models is not None  # a desk needs the model port
    captures = desk.captures.get(slot, 0)
    folder = Path(engine.config.morph.folder).expanduser().absolute()  # refusals name where it is
    registry.reader.read(
        folder,
        path,
        lambda result: desk.loaded(
            slot, result, captures, lambda exc: request.replies.refuse(request, "morph/load", exc), ctx
        ),
        ctx.models.replier,
        slot=(ctx.session, slot),
    )


MODE_LIST = (
    Mode("off", lambda config, listener: Off()),
    Mode("thru", lambda config, listener: Thru()),
    Mode("harmonize", _harmonize),
    Mode("duet", _with_model(Duet), needs_model=True),
    Mode("autopilot", _with_model(Autopilot), needs_model=True, plays_alone=True),
    Mode(
        "morph",
        lambda config, listener: Off(),
        needs_model=True,
        commands=(morph_capture, morph_load),
        plays_alone=True,
    ),
)


class Registry:
    """`vae`: the morph model, `harmony`: the harmony model, both run on the continuation
    model's worker (None: no morph; harmonize without the harmony model)."""

    def __init__(
        self,
        modes: Iterable[Mode] = MODE_LIST,
        vae: MelodyVAE | None = None,
        harmony: HarmonyModel | None = None,
    ) -> None:
        self.modes = {mode.name: mode for mode in modes}
        if tuple(self.modes) != MODES:
            raise ValueError(f"the registry serves {tuple(self.modes)}, the contract names {MODES}")
        self.vae = vae
        self.harmony = harmony
        self.desks: dict[str, Desk] = {}  # session key -> its morph slots (they outlive its modes)
        self.reader = PhraseReader()  # morph/load's files, one at a time

    def check(self, mode: str, has_model: bool, session: str = "") -> None:
        self._available(mode, has_model)
        if mode == "morph":
            desks = list(self.desks.values()) if session in ("", SHARED) else [self.desks.get(session)]
            if not any(d is not None and d.slots for d in desks):
                raise CommandError(
                    "unavailable",
                    "morph: slots a and b are both empty; capture a phrase "
                    "(/liveai/morph/capture a) or load one (/liveai/morph/load a file.mid)",
                )

    def _available(self, mode: str, has_model: bool) -> None:
        entry = self.modes.get(mode)
        if entry is None:
            raise CommandError("bad_value", f"unknown mode {mode!r} (modes: {', '.join(self.modes)})")
        if entry.unavailable:
            raise CommandError("unavailable", entry.unavailable)
        if entry.needs_model and not has_model:
            raise CommandError(
                "unavailable", f"mode {mode!r} needs a model (model.continuation is not loaded)"
            )
        if mode == "morph" and self.vae is None:
            raise CommandError("unavailable", _NO_VAE)

    def check_config(self, config: Config) -> None:
        """Refuse, as a config error, a starting mode this release cannot play."""
        entry = self.modes[config.server.mode]
        if entry.unavailable:
            raise ConfigError(f"server.mode: {entry.name!r} is not available ({entry.unavailable})")
        if entry.name == "morph":
            raise ConfigError("server.mode: morph starts with empty slots; start in another mode and capture")

    def ears(self, ctx: Context) -> Ears | None:
        return None if ctx.models is None else Listener(ctx)

    def desk(self, ctx: Context) -> Desk:
        if self.vae is None or ctx.models is None:
            raise CommandError("unavailable", _NO_VAE)
        desk = self.desks.get(ctx.session)
        if desk is None:
            desk = self.desks[ctx.session] = Desk(ctx.config, self.vae)
        return desk

    def make(self, mode: str, ctx: Context, ears: Ears | None) -> Behaviour:
        self._available(mode, ears is not None)  # a new session may start in morph with empty slots
        assert ears is None or isinstance(ears, Listener)
        if mode == "morph":
            return Morph(ctx.config, self.desk(ctx))
        if mode == "harmonize":
            return _harmonize(ctx.config, ears, self.harmony)
        return self.modes[mode].make(ctx.config, ears)

    def plays_alone(self, mode: str) -> bool:
        return self.modes[mode].plays_alone

    def stopped(self, mode: str) -> Behaviour:
        return Stopped(mode)

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
            slot,
            captured(played, now, 60.0 / clock.bpm(now), clock.last_beat if clock.playing else None),
            ctx,
        )

    def trigger(self, action: str, ctx: Context, played: list[Note]) -> None:
        slot = CAPTURES.get(action)  # the engine does the transport's actions
        if slot is None:
            raise CommandError("bad_value", f"unknown action {action!r}")
        self.capture(slot, ctx, played)

    def status(self) -> dict[str, Any]:
        return status_of(self.desks)

    def commands(self) -> list[CommandDef]:
        return [c for mode in self.modes.values() for c in mode.commands]
