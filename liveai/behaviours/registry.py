"""The registry: the modes (liveai.behaviours.modes), each a name, a behaviour factory
`(ctx, ears)`, whether it needs a model, and the commands it adds to the control table.
The server hands it to the engine, which asks it for every session's behaviour;
`liveai.control` adds its commands."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..config.types import MODES
from ..core.behaviour import Behaviour, Ears
from ..core.commands import CommandDef
from ..core.context import Context
from ..errors import CommandError, ConfigError
from ..music.note import Note
from .base import Off, Stopped
from .modes import MakeBehaviour, Mode, heard
from .morph_mode import MorphMode
from .phrases import PhraseReader
from .rule_harmonize import RuleHarmonizer
from .thru import Thru

# The modes that play from a model, and their listener, bring torch (the model jobs,
# sampling): they are imported where they are made, which only a server with a model
# does, so one without a model starts without torch (a second of CPU).
if TYPE_CHECKING:
    from ..models.harmony import HarmonyModel
    from ..models.vae import MelodyVAE
    from .listener import Listener


def harmonize(harmony: HarmonyModel | None) -> MakeBehaviour:
    """By `harmonize.by`; "harmony" without its model is "continuation" (the loader said so)."""

    def make(ctx: Context, ears: Listener | None) -> Behaviour:
        by = ctx.config.harmonize.by
        if ears is None or by == "rule":
            return RuleHarmonizer(ctx)
        if by == "harmony" and harmony is not None:
            from .voiced import VoicedHarmonizer

            return VoicedHarmonizer(ctx, ears, harmony)
        from .harmonize import ModelHarmonizer

        return ModelHarmonizer(ctx, ears)

    return make


MODEL_MODES = ("listener", "harmonize", "voiced", "duet", "autopilot")


def load_model_modes() -> None:
    """Import the modes that play from a model: called off the loop once a model is
    loaded, so that the first switch to one imports nothing on it."""
    for name in MODEL_MODES:
        importlib.import_module(f"{__package__}.{name}")


def duet(ctx: Context, ears: Listener | None) -> Behaviour:
    from .duet import Duet

    return Duet(ctx, heard(ears))


def autopilot(ctx: Context, ears: Listener | None) -> Behaviour:
    from .autopilot import Autopilot

    return Autopilot(ctx, heard(ears))


class Registry:
    """`vae`: the morph model, `harmony`: the harmony model, both run on the continuation
    model's worker (None: no morph; harmonize without the harmony model); `reader`:
    the reader of morph/load's files (by default one that answers on the running loop)."""

    def __init__(
        self,
        vae: MelodyVAE | None = None,
        harmony: HarmonyModel | None = None,
        reader: PhraseReader | None = None,
    ) -> None:
        modes = (
            Mode("off", lambda ctx, ears: Off(ctx)),
            Mode("thru", lambda ctx, ears: Thru(ctx)),
            Mode("harmonize", harmonize(harmony)),
            Mode("duet", duet, needs_model=True),
            Mode("autopilot", autopilot, needs_model=True, plays_alone=True),
            MorphMode(vae, reader or PhraseReader()),
        )
        self.modes = {mode.name: mode for mode in modes}
        if tuple(self.modes) != MODES:
            raise ValueError(f"the registry serves {tuple(self.modes)}, the contract names {MODES}")

    def check(self, mode: str, has_model: bool, session: str = "") -> None:
        self._available(mode, has_model).check(session)

    def _available(self, mode: str, has_model: bool) -> Mode:
        entry = self.modes.get(mode)
        if entry is None:
            raise CommandError("bad_value", f"unknown mode {mode!r} (modes: {', '.join(self.modes)})")
        if entry.needs_model and not has_model:
            raise CommandError(
                "unavailable", f"mode {mode!r} needs a model (model.continuation is not loaded)"
            )
        if entry.unavailable:
            raise CommandError("unavailable", entry.unavailable)
        return entry

    def check_config(self, config: Config) -> None:
        """Refuse, as a config error, a starting mode this release cannot play."""
        entry = self.modes[config.server.mode]
        if entry.not_at_start:
            raise ConfigError(f"server.mode: {entry.not_at_start}")
        if entry.unavailable:
            raise ConfigError(f"server.mode: {entry.name!r} is not available ({entry.unavailable})")

    def ears(self, ctx: Context) -> Ears | None:
        if ctx.models is None:
            return None
        from .listener import Listener

        return Listener(ctx)

    def make(self, mode: str, ctx: Context, ears: Ears | None) -> Behaviour:
        entry = self._available(mode, ears is not None)  # a new session may start in morph with empty slots
        return entry.make(ctx, ears)  # type: ignore[arg-type]  # the ears this registry made

    def plays_alone(self, mode: str) -> bool:
        return self.modes[mode].plays_alone

    def stopped(self, mode: str, ctx: Context) -> Behaviour:
        return Stopped(ctx, mode)

    def close(self, session: str) -> None:
        for mode in self.modes.values():
            mode.close(session)

    def trigger(self, action: str, ctx: Context, played: list[Note]) -> None:
        for mode in self.modes.values():  # the engine does the transport's actions
            if action in mode.actions:
                mode.actions[action](ctx, played)
                return
        raise CommandError("bad_value", f"unknown action {action!r}")

    def status(self) -> dict[str, Any]:
        return {k: v for mode in self.modes.values() for k, v in mode.status().items()}

    def commands(self) -> list[CommandDef]:
        return [c for mode in self.modes.values() for c in mode.commands]
