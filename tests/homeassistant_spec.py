"""A check of a Home Assistant MQTT device discovery message against HA's MQTT docs
(device-based discovery; the select, number, button, sensor and binary_sensor platforms):
the required fields of the device, origin and every component, the keys each platform
knows (HA silently drops others, so a typo would go unseen) and their types. Used on the
generator's output and on what a running liveai publishes."""

from __future__ import annotations

import re
from typing import Any

# HA's abbreviations (homeassistant/components/mqtt/abbreviations.py) for the keys used here.
ABBREVIATIONS = {
    "p": "platform",
    "uniq_id": "unique_id",
    "cmd_t": "command_topic",
    "stat_t": "state_topic",
    "avty_t": "availability_topic",
    "val_tpl": "value_template",
    "unit_of_meas": "unit_of_measurement",
    "json_attr_t": "json_attributes_topic",
    "pl_on": "payload_on",
    "pl_off": "payload_off",
    "pl_prs": "payload_press",
    "dev_cla": "device_class",
    "stat_cla": "state_class",
    "ent_cat": "entity_category",
    "ops": "options",
}
DEVICE_ABBREVIATIONS = {"ids": "identifiers", "mf": "manufacturer", "mdl": "model", "sw": "sw_version"}
ORIGIN_ABBREVIATIONS = {"sw": "sw_version", "url": "support_url"}
# Every platform's entity options used by liveai (HA knows more; these are the ones checked).
COMMON = {"platform", "name", "unique_id", "availability_topic", "entity_category", "icon", "qos"}
REQUIRED = {
    "select": {"command_topic", "options"},
    "number": {"command_topic"},
    "button": {"command_topic"},
    "sensor": {"state_topic"},
    "binary_sensor": {"state_topic"},
}
OPTIONAL = {
    "select": {"state_topic", "value_template", "command_template"},
    "number": {"state_topic", "min", "max", "step", "mode", "unit_of_measurement", "value_template"},
    "button": {"payload_press", "device_class"},
    "sensor": {
        "value_template",
        "unit_of_measurement",
        "state_class",
        "device_class",
        "json_attributes_topic",
    },
    "binary_sensor": {"payload_on", "payload_off", "device_class", "value_template"},
}
STATE_CLASSES = {"measurement", "total", "total_increasing"}
ENTITY_CATEGORIES = {"config", "diagnostic"}
_ID = re.compile(r"[a-zA-Z0-9_-]+")
TOPIC = re.compile(r"(?P<prefix>.+)/device/(?P<id>[a-zA-Z0-9_-]+)/config")


def expand(mapping: dict[str, Any], abbreviations: dict[str, str]) -> dict[str, Any]:
    return {abbreviations.get(k, k): v for k, v in mapping.items()}


def _topic(value: Any) -> bool:
    return isinstance(value, str) and value != "" and not set(value) & {"+", "#", "\0"}


def problems(topic: str, message: dict[str, Any]) -> list[str]:
    """Every rule the message breaks (empty: valid)."""
    found = [] if TOPIC.fullmatch(topic) else [f"topic {topic!r} is not <prefix>/device/<id>/config"]
    device = expand(message.get("dev", message.get("device", {})), DEVICE_ABBREVIATIONS)
    if not device.get("identifiers"):
        found.append("dev: no identifiers")
    origin = expand(message.get("o", message.get("origin", {})), ORIGIN_ABBREVIATIONS)
    if not isinstance(origin.get("name"), str) or not origin["name"]:
        found.append("o: no name (required in a device discovery)")
    components = message.get("cmps", message.get("components"))
    if not isinstance(components, dict) or not components:
        return [*found, "cmps: not a non-empty mapping"]
    unique_ids: list[str] = []
    for key, raw in components.items():
        if not _ID.fullmatch(key):
            found.append(f"cmps: bad component id {key!r}")
        found += [f"cmps.{key}: {p}" for p in _component(expand(raw, ABBREVIATIONS))]
        unique_ids.append(expand(raw, ABBREVIATIONS).get("unique_id"))
    if len(set(unique_ids)) != len(unique_ids):
        found.append(f"unique_id used twice: {unique_ids}")
    return found


def _component(c: dict[str, Any]) -> list[str]:
    platform = c.get("platform")
    if platform not in REQUIRED:
        return [f"platform {platform!r} is not one of {sorted(REQUIRED)}"]
    found = [f"no {key}" for key in sorted(REQUIRED[platform] | {"unique_id"}) if key not in c]
    unknown = set(c) - COMMON - REQUIRED[platform] - OPTIONAL[platform]
    if unknown:
        found.append(f"keys a {platform} does not know: {sorted(unknown)}")
    found += [f"{k} {v!r} is not a topic" for k, v in c.items() if k.endswith("topic") and not _topic(v)]
    if not isinstance(c.get("unique_id", ""), str) or not c.get("unique_id", "x"):
        found.append("unique_id is not a non-empty string")
    if platform == "select":
        options = c.get("options")
        if not isinstance(options, list) or not options or not all(isinstance(o, str) for o in options):
            found.append(f"options {options!r} is not a non-empty list of strings")
    if platform == "number":
        lo, hi, step = c.get("min", 1), c.get("max", 100), c.get("step", 1)  # HA's defaults
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (lo, hi, step)):
            found.append("min, max or step is not a number")
        elif not (lo < hi and 0 < step <= hi - lo):
            found.append(f"min {lo}, max {hi}, step {step} do not make a range")
        if c.get("mode", "auto") not in ("auto", "box", "slider"):
            found.append(f"mode {c['mode']!r}")
    if c.get("state_class", "measurement") not in STATE_CLASSES:
        found.append(f"state_class {c['state_class']!r}")
    if c.get("entity_category", "diagnostic") not in ENTITY_CATEGORIES:
        found.append(f"entity_category {c['entity_category']!r}")
    for key in ("name", "payload_press", "payload_on", "payload_off", "value_template"):
        if key in c and not isinstance(c[key], str):
            found.append(f"{key} is not a string")
    return found
