"""What the stage page's websocket carries, as JSON, both ways.

Out, a frame is a list of items, each a dict with a kind `k`: the first is always
`{"k": "now", "t": ...}`, the server's clock (time.monotonic) when the frame left, so the
page can place every note's time `t` on its own clock. In, a frame is one command,
`{"address": "/liveai/mode", "args": ["duet"]}`, checked here against the same limits as
an OSC datagram before the command table sees it.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..config import OscConfig
from ..errors import CommandError
from ..events import NoteOff, NoteOn, player_of


def pack(items: list[Any]) -> str:
    """One frame: the clock, then the items."""
    return json.dumps([{"k": "now", "t": round(time.monotonic(), 4)}, *items], separators=(",", ":"))


def note_item(event: NoteOn | NoteOff, who: str) -> dict[str, Any]:
    """A note heard (`who` is "player" or "liveai"); `s` is the player it came from."""
    return {
        "k": "note",
        "who": who,
        "s": player_of(event.source) if who == "player" else "",
        "p": event.pitch,
        "v": event.velocity if isinstance(event, NoteOn) else 0,
        "c": event.channel,
        "t": round(event.t, 4),
    }


def plan_item(event: NoteOn | NoteOff, kind: str = "plan") -> dict[str, Any]:
    """A note liveai will play at `t` ("plan"), or one it took back ("withdraw")."""
    return {
        "k": kind,
        "p": event.pitch,
        "v": event.velocity if isinstance(event, NoteOn) else 0,
        "c": event.channel,
        "t": round(event.t, 4),
    }


def _finite(text: str) -> float:
    raise ValueError(f"{text} is not a number JSON allows")


def parse_command(data: str | bytes, limits: OscConfig) -> tuple[str, list[Any]]:
    """(address, args) from one frame, or CommandError saying what is wrong with it:
    `too_large` past OSC's limits (an address or string longer than `osc.max_string_bytes`,
    more than `osc.max_arguments` arguments), `malformed` for what is not such a command."""
    most = limits.max_string_bytes * (limits.max_arguments + 1) + 1024
    if len(data) > most:
        raise CommandError("too_large", f"a frame of {len(data)} bytes, more than {most}")
    try:
        message = json.loads(data, parse_constant=_finite)
    except (ValueError, RecursionError) as exc:
        raise CommandError("malformed", f"not JSON: {exc}") from None
    if not isinstance(message, dict) or not isinstance(message.get("address"), str):
        raise CommandError("malformed", 'a command is {"address": "/liveai/...", "args": [...]}')
    address, args = message["address"], message.get("args", [])
    if len(address.encode()) > limits.max_string_bytes:
        raise CommandError(
            "too_large", f"an address longer than {limits.max_string_bytes} bytes (osc.max_string_bytes)"
        )
    if not isinstance(args, list):
        raise CommandError("malformed", f"args must be a list, not {type(args).__name__}")
    if len(args) > limits.max_arguments:
        raise CommandError(
            "too_large", f"{len(args)} arguments, more than {limits.max_arguments} (osc.max_arguments)"
        )
    for arg in args:
        if isinstance(arg, bool):
            continue
        if isinstance(arg, str):
            if len(arg.encode()) > limits.max_string_bytes:
                raise CommandError("too_large", f"a string longer than {limits.max_string_bytes} bytes")
        elif not isinstance(arg, (int, float)):
            raise CommandError("malformed", f"an argument is a number or a string, not {type(arg).__name__}")
    # OSC carries no booleans here (as liveai sends them): true is 1
    return address, [int(a) if isinstance(a, bool) else a for a in args]
