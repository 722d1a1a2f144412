"""The registry: each mode's name, its behaviour factory, whether it needs a model, and
the commands it adds to the control table. The server hands it to the engine, which
asks it for every session's behaviour; `liveai.control` adds its commands."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Callable

from ..config import Config
from ..config.types import MODES, Slot
from ..core.behaviour import Behaviour, Ears
from ..core.commands import CommandDef, Request, command
from ..core.context import Context
from ..core.engine import Engine
from ..errors import CommandError, ConfigError
from .autopilot import Autopilot
from .base import Off
from .duet import Duet
from .harmonize import ModelHarmonizer
from .listener import Listener
from .rule_harmonize import RuleHarmonizer
from .thru import Thru

MakeBehaviour = Callable[[Config, Listener | None], Behaviour]


@dataclass(frozen=True)
class Mode:
    name: str
    make: MakeBehaviour
    needs_model: bool = False
    unavailable: str = ""  # why this mode cannot run in this release
    commands: tuple[CommandDef, ...] = ()


def _harmonize(config: Config, listener: Listener | None) -> Behaviour:
    if listener is None or config.harmonize.by == "rule":
        return RuleHarmonizer(config.harmonize)
    return ModelHarmonizer(config, listener)


def _with_model(make: Callable[[Config, Listener], Behaviour]) -> MakeBehaviour:
    def checked(config: Config, listener: Listener | None) -> Behaviour:
        assert listener is not None, "Registry.check refuses a model mode without a model"
        return make(config, listener)
    return checked


_NO_VAE = "morph needs the VAE model, not available yet"


@command("morph/capture", mqtt=False)
def morph_capture(engine: Engine, request: Request, slot: Slot) -> None:
    """The last bars played go into slot a or b (needs the VAE model)."""
    raise CommandError("unavailable", _NO_VAE)


@command("morph/load", mqtt=False)
def morph_load(engine: Engine, request: Request, slot: Slot, path: str) -> None:
    """A MIDI file goes into slot a or b (needs the VAE model)."""
    raise CommandError("unavailable", _NO_VAE)


def _unavailable(config: Config, listener: Listener | None) -> Behaviour:
    raise CommandError("unavailable", _NO_VAE)


MODE_LIST = (
    Mode("off", lambda config, listener: Off()),
    Mode("thru", lambda config, listener: Thru()),
    Mode("harmonize", _harmonize),
    Mode("duet", _with_model(Duet), needs_model=True),
    Mode("autopilot", _with_model(Autopilot), needs_model=True),
    Mode("morph", _unavailable, unavailable="mode 'morph' needs the morph model, not available yet",
         commands=(morph_capture, morph_load)),
)


class Registry:
    def __init__(self, modes: Iterable[Mode] = MODE_LIST) -> None:
        self.modes = {mode.name: mode for mode in modes}
        if tuple(self.modes) != MODES:
            raise ValueError(f"the registry serves {tuple(self.modes)}, the contract names {MODES}")

    def check(self, mode: str, has_model: bool) -> None:
        entry = self.modes.get(mode)
        if entry is None:
            raise CommandError("bad_value", f"unknown mode {mode!r} (modes: {', '.join(self.modes)})")
        if entry.unavailable:
            raise CommandError("unavailable", entry.unavailable)
        if entry.needs_model and not has_model:
            raise CommandError("unavailable", f"mode {mode!r} needs a model (model.continuation is not loaded)")

    def check_config(self, config: Config) -> None:
        """Refuse, as a config error, a starting mode this release cannot play."""
        entry = self.modes[config.server.mode]
        if entry.unavailable:
            raise ConfigError(f"server.mode: {entry.name!r} is not available ({entry.unavailable})")

    def ears(self, ctx: Context) -> Ears | None:
        return None if ctx.models is None else Listener(ctx)

    def make(self, mode: str, ctx: Context, ears: Ears | None) -> Behaviour:
        self.check(mode, ears is not None)
        assert ears is None or isinstance(ears, Listener)
        return self.modes[mode].make(ctx.config, ears)

    def commands(self) -> list[CommandDef]:
        return [c for mode in self.modes.values() for c in mode.commands]
