"""The OSCQuery address space (Vidvox OSCQueryProposal) of the command table: every OSC
command is a node with its type tags, ranges, description and, where it sets public
state, its current value. Pure JSON-ready dicts; `transports/oscquery.py` serves them.

TYPE is the form a generic client should send: every argument up to the first free-form
one (a session id, a ping token), which no knob or menu can fill (an empty session is
refused). Every other form the command accepts is listed in OVERLOADS. A command with no
arguments has TYPE "" (OSC's empty type tag string): a button.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..config.types import Token
from ..music.scales import KEYS, SCALES
from .params import Param
from .table import Command

# The public state (engine.state) an address shows, one value per argument of its TYPE:
# these nodes are read and written (ACCESS 3) and can be listened to.
STATE_AT: dict[str, tuple[str, ...]] = {
    "/liveai/mode": ("mode",),
    "/liveai/temperature": ("temperature",),
    "/liveai/tempo": ("tempo",),
    "/liveai/density": ("density",),
    "/liveai/morph": ("morph",),
    "/liveai/key": ("key", "scale"),
    "/liveai/register": ("low", "high"),
}
# State no command sets: read-only nodes (ACCESS 1) at the address OSC sends it out on.
READ_ONLY: dict[str, tuple[str, str]] = {
    "/liveai/out/playing": ("playing", "1 while the transport plays, 0 when stopped."),
    "/liveai/out/panicked": (
        "panicked",
        "1 while a panic holds a session; 0 once play, a mode or the player resumed them.",
    ),
}
# The values a piece of state takes where its command accepts more spellings ("Am" is kept as "A" "minor").
STATE_VALS: dict[str, tuple[str, ...]] = {"key": KEYS, "scale": SCALES}
CONTAINERS = {
    "/": "liveai: a realtime music server; OSC commands in over UDP (HOST_INFO OSC_PORT) or this websocket.",
    "/liveai": "liveai's commands.",
    "/liveai/out": "State liveai sends out (as OSC to its targets): read it here, or LISTEN to it.",
}
# What this server gives per node; a query for one of them a node lacks is answered 204.
ATTRIBUTES = (
    "FULL_PATH",
    "CONTENTS",
    "TYPE",
    "ACCESS",
    "RANGE",
    "DESCRIPTION",
    "VALUE",
    "CLIPMODE",
    "OVERLOADS",
)
# The spec's optional attributes and commands, and whether liveai supports them (HOST_INFO EXTENSIONS).
# The command table is fixed while liveai runs: no path is ever added, removed or renamed.
EXTENSIONS = {
    "ACCESS": True,
    "VALUE": True,
    "RANGE": True,
    "DESCRIPTION": True,
    "CLIPMODE": True,
    "OVERLOADS": True,
    "LISTEN": True,
    "TAGS": False,
    "EXTENDED_TYPE": False,
    "UNIT": False,
    "CRITICAL": False,
    "HTML": False,
    "PATH_CHANGED": False,
    "PATH_ADDED": False,
    "PATH_REMOVED": False,
    "PATH_RENAMED": False,
}
_SENTENCE_END = re.compile(r"(?<!e\.g)(?<!i\.e)\.(?=\s|$)")


def tag(p: Param) -> str:
    """The OSC type tag of an argument (a Token, number or string, is sent as a string)."""
    return {int: "i", float: "f"}.get(p.kind, "s")


def description(doc: str) -> str:
    """A doc's first sentence, on one line."""
    text = " ".join(doc.split())
    end = _SENTENCE_END.search(text)
    return text if end is None else text[: end.end()]


def _range(p: Param, state_name: str | None) -> dict[str, Any] | None:
    if p.range is not None:
        number = int if p.kind is int else float
        return {"MIN": number(p.range.lo), "MAX": number(p.range.hi)}
    if p.choice is not None:
        return {"VALS": list(p.choice.options)}
    if state_name in STATE_VALS:
        return {"VALS": list(STATE_VALS[state_name])}
    return None


def _form(params: tuple[Param, ...], state: tuple[str, ...]) -> dict[str, Any]:
    """TYPE, RANGE and CLIPMODE of one form of a command (its first arguments)."""
    form: dict[str, Any] = {"TYPE": "".join(tag(p) for p in params)}
    ranges = [_range(p, state[i] if i < len(state) else None) for i, p in enumerate(params)]
    if any(r is not None for r in ranges):
        form["RANGE"] = ranges
    if any(r is not None for r in ranges):  # a value outside VALS is refused: "none" too
        form["CLIPMODE"] = ["both" if p.range is not None and p.range.clamp else "none" for p in params]
    return form


def main_arity(params: tuple[Param, ...]) -> int:
    """How many arguments TYPE has: those before the first free-form one (at least the required)."""
    free = next((i for i, p in enumerate(params) if p.kind is Token), len(params))
    return max(free, sum(not p.optional for p in params))


def cast(tags: str, values: Iterable[Any]) -> list[Any]:
    """State values as their type tags say (a bool as 0/1, a tempo as a float)."""
    kinds = {"i": int, "f": float, "s": str}
    return [kinds[t](v) for t, v in zip(tags, values)]


def method(command: Command, state: Mapping[str, Any]) -> dict[str, Any]:
    """The node of one command."""
    shows = STATE_AT.get(command.address, ())
    params, main = command.params, main_arity(command.params)
    required = sum(not p.optional for p in params)
    node: dict[str, Any] = {
        "FULL_PATH": command.address,
        "ACCESS": 3 if shows else 2,
        "DESCRIPTION": description(command.doc),
    }
    node.update(_form(params[:main], shows))
    if shows:
        node["VALUE"] = cast(node["TYPE"], (state[name] for name in shows))
    overloads = [_form(params[:n], shows) for n in range(required, len(params) + 1) if n != main]
    if overloads:
        node["OVERLOADS"] = overloads
    return node


def read_only(address: str, state: Mapping[str, Any]) -> dict[str, Any]:
    name, text = READ_ONLY[address]
    return {
        "FULL_PATH": address,
        "ACCESS": 1,
        "DESCRIPTION": text,
        "TYPE": "i",
        "RANGE": [{"MIN": 0, "MAX": 1}],
        "CLIPMODE": ["none"],
        "VALUE": [int(state[name])],
    }


def tree(commands: Iterable[Command], state: Mapping[str, Any]) -> dict[str, Any]:
    """The whole address space, its root "/" first: every command given (those OSC carries)
    and the read-only state."""
    nodes = {c.address: method(c, state) for c in commands}
    nodes.update({a: read_only(a, state) for a in READ_ONLY})
    for address in list(nodes):  # every container on the way
        parts = address.split("/")
        for depth in range(1, len(parts) - 1):
            path = "/".join(parts[: depth + 1])
            nodes.setdefault(path, _container(path))
    root = _container("/")
    for address, node in sorted(nodes.items(), key=lambda item: item[0].count("/")):
        parent, _, name = address.rpartition("/")
        (nodes[parent] if parent else root).setdefault("CONTENTS", {})[name] = node
    return root


def _container(path: str) -> dict[str, Any]:
    return {"FULL_PATH": path, "ACCESS": 0, "DESCRIPTION": CONTAINERS.get(path, ""), "CONTENTS": {}}


def find(root: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The node at an OSC path ("/liveai/tempo"; a trailing "/" is ignored), or None."""
    node = root
    for part in filter(None, path.split("/")):
        node = node.get("CONTENTS", {}).get(part)
        if node is None:
            return None
    return node


def attribute(node: dict[str, Any], name: str) -> tuple[int, dict[str, Any]]:
    """An HTTP status and body for `?NAME` on a node: 200 with `{NAME: value}`, 204 when this
    node has none (a container's TYPE, a write-only command's VALUE), 400 for an attribute
    this server does not know."""
    if name not in ATTRIBUTES:
        return 400, {}
    if name not in node:
        return 204, {}
    return 200, {name: node[name]}


def listenable(path: str) -> tuple[str, ...]:
    """The state a path shows, one name per argument (empty: nothing to listen to)."""
    if path in STATE_AT:
        return STATE_AT[path]
    return (READ_ONLY[path][0],) if path in READ_ONLY else ()


def state_types(root: dict[str, Any]) -> dict[str, str]:
    """The TYPE of every address in the tree that shows state (what a LISTEN may ask for)."""
    return {a: node["TYPE"] for a in (*STATE_AT, *READ_ONLY) if (node := find(root, a)) is not None}


def showing(name: str) -> list[str]:
    """The addresses that show a piece of state (a changed `scale` shows at /liveai/key)."""
    return [a for a in [*STATE_AT, *READ_ONLY] if name in listenable(a)]


class AddressSpace:
    """The tree built once (the command table is fixed while liveai runs), its VALUEs
    filled from the state when asked: a GET or a LISTEN costs a look-up, not a build."""

    def __init__(self, commands: Iterable[Command], state: Mapping[str, Any]) -> None:
        self.state = state
        self.root = tree(commands, state)
        self.nodes = {node["FULL_PATH"]: node for node in _walk(self.root)}
        self.types = state_types(self.root)  # what a LISTEN streams

    def node(self, path: str) -> dict[str, Any] | None:
        """The node at an OSC path as `find` reads it, its values (and those below it) current."""
        node = self.nodes.get(normal(path))
        if node is not None:
            for address in self.types:
                self.nodes[address]["VALUE"] = self.value(address)
        return node

    def value(self, address: str) -> list[Any]:
        """The current VALUE of an address that shows state."""
        return cast(self.types[address], (self.state[name] for name in listenable(address)))


def normal(path: str) -> str:
    """An OSC path as a FULL_PATH: "/liveai/morph/" and "//liveai/morph" are "/liveai/morph"."""
    return "/" + "/".join(filter(None, path.split("/")))


def _walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node.get("CONTENTS", {}).values() for n in _walk(child))]


def host_info(name: str, osc_ip: str, osc_port: int, ws_ip: str, ws_port: int) -> dict[str, Any]:
    return {
        "NAME": name,
        "EXTENSIONS": dict(EXTENSIONS),
        "OSC_IP": osc_ip,
        "OSC_PORT": osc_port,
        "OSC_TRANSPORT": "UDP",
        "WS_IP": ws_ip,
        "WS_PORT": ws_port,
    }
