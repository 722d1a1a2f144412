"""Home Assistant's MQTT device discovery of the command table: one retained JSON message
(`<prefix>/device/<id>/config`, with `dev`, `o` and `cmps`) that makes liveai a device
with a select for the mode, numbers for the values, buttons for the actions, sensors
read from the telemetry and a connectivity sensor tied to the last will. Pure
JSON-ready dicts; `transports/homeassistant.py` publishes them.

Each component's kind, options and range come from its command's arguments, as the
OSCQuery tree's do: a choice is a select, a number with a range a number, no argument a
button. Its command topic is liveai's own `cmd/<name>` and its state topic the retained
`state/<name>`, so Home Assistant goes through the same path as any MQTT client.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from .oscquery import STATE_AT
from .params import Param
from .table import Command

# The commands a dashboard gets, in this order (a learn button only where the table has `learn`).
EXPOSED = ("mode", "temperature", "density", "tempo", "morph", "play", "stop", "panic", "learn")
# Telemetry figures shown as sensors: key -> (name, unit, state_class).
SENSORS = {
    "latency_p99_ms": ("Latency p99", "ms", "measurement"),
    "deadline_misses": ("Deadline misses", None, "total_increasing"),
    "audio_underruns": ("Audio underruns", None, "total_increasing"),
}
ONLINE, OFFLINE = "online", "offline"  # liveai's status payloads (offline is also its last will)


def device_id(instance: str) -> str:
    """The device's id in topics and unique ids: HA takes only [a-zA-Z0-9_-] there."""
    return "liveai_" + re.sub(r"[^a-zA-Z0-9_-]", "_", instance)


def config_topic(prefix: str, instance: str) -> str:
    return f"{prefix}/device/{device_id(instance)}/config"


def _step(p: Param) -> float:
    """A hundredth of the range, rounded down to a power of ten (0.01 for 0-1, 1 for 20-300)."""
    assert p.range is not None
    if p.kind is int:
        return 1
    return 10.0 ** math.floor(math.log10((p.range.hi - p.range.lo) / 100))


def component(command: Command, base: str, uid: str) -> dict[str, Any] | None:
    """The component of one command, or None when no knob, menu or button can send it."""
    required = [p for p in command.params if not p.optional]
    name = command.name.replace("/", " ").capitalize()
    common = {
        "name": name,
        "unique_id": f"{uid}_{command.name.replace('/', '_')}",
        "command_topic": f"{base}/cmd/{command.name}",
        "availability_topic": f"{base}/status",
    }
    if not required:
        # liveai refuses text sent to a command without arguments: the press is an empty payload
        return {"p": "button", **common, "payload_press": ""}
    shows = STATE_AT.get(command.address, ())
    if len(required) != 1 or len(shows) != 1:
        return None
    p, state = required[0], {"state_topic": f"{base}/state/{shows[0]}"}
    if p.choice is not None:
        return {"p": "select", **common, **state, "options": list(p.choice.options)}
    if p.range is not None and p.kind in (int, float):
        number = int if p.kind is int else float
        limits = {"min": number(p.range.lo), "max": number(p.range.hi), "step": _step(p)}
        return {"p": "number", **common, **state, **limits, "mode": "slider"}
    return None


def sensor(key: str, base: str, uid: str) -> dict[str, Any]:
    name, unit, state_class = SENSORS[key]
    found: dict[str, Any] = {
        "p": "sensor",
        "name": name,
        "unique_id": f"{uid}_{key}",
        "state_topic": f"{base}/telemetry",
        # audio off: no underruns (the figure is absent from the telemetry then)
        "value_template": f"{{{{ value_json.{key} | default(0) }}}}",
        "state_class": state_class,
        "availability_topic": f"{base}/status",
        "entity_category": "diagnostic",
    }
    if unit is not None:
        found["unit_of_measurement"] = unit
    if key == "latency_p99_ms":  # every other figure of the telemetry, as its attributes
        found["json_attributes_topic"] = f"{base}/telemetry"
    return found


def online(base: str, uid: str) -> dict[str, Any]:
    """Connectivity from liveai's retained status, which the last will sets offline: no
    availability of its own, or it would read unavailable instead of off."""
    return {
        "p": "binary_sensor",
        "name": "Online",
        "unique_id": f"{uid}_online",
        "state_topic": f"{base}/status",
        "payload_on": ONLINE,
        "payload_off": OFFLINE,
        "device_class": "connectivity",
        "entity_category": "diagnostic",
    }


def announcement(commands: Iterable[Command], instance: str, version: str) -> dict[str, Any]:
    """The device discovery message for the commands MQTT carries."""
    base, uid = f"liveai/{instance}", device_id(instance)
    by_name = {c.name: c for c in commands}
    components: dict[str, dict[str, Any]] = {}
    for name in EXPOSED:
        found = component(by_name[name], base, uid) if name in by_name else None
        if found is not None:
            components[name.replace("/", "_")] = found
    components.update({key: sensor(key, base, uid) for key in SENSORS})
    components["online"] = online(base, uid)
    return {
        "dev": {"ids": [uid], "name": f"liveai {instance}", "mf": "liveai", "mdl": "liveai", "sw": version},
        "o": {"name": "liveai", "sw": version},
        "cmps": components,
        "qos": 1,
    }
