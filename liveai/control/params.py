"""A command's arguments, read from its handler's signature, and the checks that turn
what a transport received (OSC values, an MQTT text payload) into them.

Numbers are accepted as int or float whatever the parameter (Pd and TouchDesigner send
floats); a value outside its range is clamped or refused as its type says; a wrong
type, a missing or extra argument is refused with CommandError("bad_args").
"""

from __future__ import annotations

import inspect
import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from ..config.types import Choice, Range, Token
from ..errors import CommandError


@dataclass(frozen=True)
class Param:
    name: str
    kind: Any  # int, float, str or Token
    default: Any = inspect.Parameter.empty
    range: Range | None = None
    choice: Choice | None = None

    @property
    def optional(self) -> bool:
        return self.default is not inspect.Parameter.empty


def params_of(handler: Callable[..., None]) -> tuple[Param, ...]:
    """The arguments of a handler `(engine, request, *arguments)`."""
    hints = typing.get_type_hints(handler, include_extras=True)
    params = []
    for p in list(inspect.signature(handler).parameters.values())[2:]:
        hint = hints[p.name]
        rng = choice = None
        if typing.get_origin(hint) in (typing.Union, types.UnionType):  # X | None
            args = tuple(a for a in typing.get_args(hint) if a is not type(None))
            hint = args[0] if len(args) == 1 else Token
        if typing.get_origin(hint) is Annotated:
            hint, *extras = typing.get_args(hint)
            rng = next((e for e in extras if isinstance(e, Range)), None)
            choice = next((e for e in extras if isinstance(e, Choice)), None)
        params.append(Param(p.name, hint, p.default, rng, choice))
    return tuple(params)


def arity(address: str, params: tuple[Param, ...]) -> str:
    names = [f"[{p.name}]" if p.optional else p.name for p in params]
    return " ".join(names) if names else "no arguments"


def coerce(address: str, params: tuple[Param, ...], args: list[Any] | tuple[Any, ...]) -> list[Any]:
    """Check and convert received arguments; raise CommandError("bad_args") if wrong."""
    required = sum(not p.optional for p in params)
    if not required <= len(args) <= len(params):
        raise CommandError(
            "bad_args", f"{address} takes {arity(address, params)}, got {len(args)} argument(s)"
        )
    return [_coerce_one(address, p, a) for p, a in zip(params, args)]


def _coerce_one(address: str, p: Param, value: Any) -> Any:
    if p.kind is Token:
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            return value
        raise CommandError("bad_args", f"{address}: {p.name} must be a number or a string")
    if p.kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise CommandError("bad_args", f"{address}: {p.name} must be a number, got {value!r}")
        value = round(value) if p.kind is int else float(value)
        if p.range is not None and value not in p.range:
            if not p.range.clamp:
                raise CommandError(
                    "bad_value", f"{address}: {p.name} {value} is out of range {p.range.lo:g}..{p.range.hi:g}"
                )
            value = p.kind(p.range.fit(value))
        return value
    if not isinstance(value, str):
        raise CommandError("bad_args", f"{address}: {p.name} must be a string, got {value!r}")
    if p.choice is not None and value not in p.choice.options:
        raise CommandError("bad_value", f"{address}: {p.name} must be one of {', '.join(p.choice.options)}")
    return value


def parse_text(address: str, params: tuple[Param, ...], text: str) -> list[Any]:
    """Turn an MQTT payload ("0.8", "harmonize", "a song.mid") into typed arguments:
    words for each parameter, the last one taking the rest (a path with spaces)."""
    if not params:
        if text.strip():
            raise CommandError("bad_args", f"{address} takes no arguments")
        return []
    out: list[Any] = []
    for p, word in zip(params, text.split(maxsplit=len(params) - 1)):
        if p.kind in (int, float, Token):
            try:
                out.append(float(word))
                continue
            except ValueError:
                if p.kind is not Token:
                    raise CommandError(
                        "bad_args", f"{address}: {p.name} must be a number, got {word!r}"
                    ) from None
        out.append(word)
    return out
