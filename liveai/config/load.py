"""Loading the configuration: TOML files and `--set a.b=c` overrides, every key, type,
range and relation checked; a problem raises ConfigError with one line naming the key.
"""

from __future__ import annotations

import dataclasses
import socket
import tomllib
import typing
from pathlib import Path
from typing import Annotated, Any

from ..errors import ConfigError
from ..music.scales import parse_key
from .schema import Config
from .types import CONTROLS, MODES, TRIGGERS, Choice, Range

# Keys a release removed, with what took their place: an old config file gets told.
REPLACED = {
    "audio.ring_blocks": "audio.headroom_ms (milliseconds rendered ahead of the sound card)",
    "harmonize.velocity_scale": "harmonize.velocity (the player's velocity times this, default 0.85)",
}
# Values a release renamed: (key, old value) -> the new value.
RENAMED = {
    ("harmonize.by", "model"): '"continuation" (the continuation model voices each note)',
}


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Read the TOML file (if any), apply `section.key=value` overrides, validate."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    for item in overrides or []:
        _apply_override(data, item)
    return build_config(data)


def build_config(data: dict[str, Any]) -> Config:
    config = _build(Config, _spelled_key(data), "")
    _check_relations(config)
    return config


def _spelled_key(data: dict[str, Any]) -> dict[str, Any]:
    """`harmonize.key` as people write it ("A minor", "Am", "f#", as /liveai/key takes it):
    the tonic goes in `key`, and a scale it names wins over `harmonize.scale` (as
    `--set harmonize.key=Am` over the scale of a config file)."""
    section = data.get("harmonize")
    if not isinstance(section, dict) or not isinstance(section.get("key"), str):
        return data
    try:
        tonic, scale = parse_key(section["key"])
    except ValueError as exc:
        raise ConfigError(f"harmonize.key: {exc}") from None
    spelled = {**section, "key": tonic} | ({"scale": scale} if scale else {})
    return {**data, "harmonize": spelled}


def _apply_override(data: dict[str, Any], item: str) -> None:
    dotted, sep, raw = item.partition("=")
    keys = dotted.strip().split(".")
    if not sep or len(keys) != 2 or not all(keys):
        raise ConfigError(f"--set {item!r}: expected section.key=value")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()  # a bare word is a string: --set server.mode=thru
    data.setdefault(keys[0], {})[keys[1]] = value


def _build(cls: type, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a table")
    hints = typing.get_type_hints(cls, include_extras=True)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if f"{prefix}{key}" in REPLACED:
            raise ConfigError(f"{prefix}{key}: no longer a setting; use {REPLACED[prefix + key]}")
        if key not in known:
            raise ConfigError(f"{prefix}{key}: unknown key (known: {', '.join(known)})")
    kwargs = {}
    for name in known:
        if name not in data:
            continue
        hint = hints[name]
        key = f"{prefix}{name}"
        if dataclasses.is_dataclass(hint):
            kwargs[name] = _build(hint, data[name], key + ".")
        else:
            if isinstance(data[name], str) and (key, data[name]) in RENAMED:
                raise ConfigError(f"{key}: {data[name]!r} is now {RENAMED[key, data[name]]}")
            kwargs[name] = _check_value(key, data[name], hint)
    return cls(**kwargs)


def _check_value(key: str, value: Any, hint: Any) -> Any:
    """Type first, then the range or choices the type is annotated with (never clamped)."""
    extras: tuple[Any, ...] = ()
    if typing.get_origin(hint) is Annotated:
        hint, *rest = typing.get_args(hint)
        extras = tuple(rest)
    value = _check_type(key, value, hint)
    for extra in extras:
        if isinstance(extra, Range) and value not in extra:
            raise ConfigError(f"{key}: {value!r} is out of range {extra.lo}..{extra.hi}")
        if isinstance(extra, Choice) and value not in extra.options:
            raise ConfigError(f"{key}: {value!r} is not one of {', '.join(extra.options)}")
    return value


def _check_type(key: str, value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list of {item.__name__}, got {value!r}")
        return [_check_type(f"{key}[{i}]", v, item) for i, v in enumerate(value)]
    if origin is dict:
        _, item = typing.get_args(hint)
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a table, got {value!r}")
        return {str(k): _check_value(f"{key}.{k}", v, item) for k, v in value.items()}
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{key}: unsupported type {hint}")


def parse_host_port(text: str, key: str = "target") -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{key}: {text!r} is not host:port")
    return host, int(port)


def _check_relations(config: Config) -> None:
    for i, target in enumerate(config.osc.targets):
        _check_resolves(f"osc.targets[{i}]", *parse_host_port(target, f"osc.targets[{i}]"))
    instance = config.mqtt.instance
    if not instance or any(c in instance for c in "#+/\0"):
        raise ConfigError(
            f"mqtt.instance: {instance!r} must be a non-empty name without #, + or / "
            "(it is a level of every MQTT topic)"
        )
    prefix = config.mqtt.discovery_prefix
    if not prefix or any(c in prefix for c in "#+\0") or prefix.startswith("/") or prefix.endswith("/"):
        raise ConfigError(
            f"mqtt.discovery_prefix: {prefix!r} must be a topic without #, + or a leading or trailing /"
        )
    h = config.harmonize
    if h.low > h.high:
        raise ConfigError(f"harmonize.low: {h.low} is above harmonize.high {h.high}")
    for i, step in enumerate(h.intervals):
        if not -24 <= step <= 24:
            raise ConfigError(f"harmonize.intervals[{i}]: {step} is out of range -24..24")
    for number, target in config.midi.cc_map.items():
        _check_midi_number(f"midi.cc_map.{number}", number)
        if target not in CONTROLS and target not in TRIGGERS:
            raise ConfigError(
                f"midi.cc_map.{number}: {target!r} is not one of {', '.join([*CONTROLS, *TRIGGERS])}"
            )
    for number, mode in config.midi.program_map.items():
        _check_midi_number(f"midi.program_map.{number}", number)
        if mode not in MODES and mode not in TRIGGERS:
            raise ConfigError(
                f"midi.program_map.{number}: {mode!r} is not one of {', '.join([*MODES, *TRIGGERS])}"
            )
    d = config.duet
    if d.min_response_s > d.max_response_s:
        raise ConfigError(
            f"duet.min_response_s: {d.min_response_s} is above duet.max_response_s {d.max_response_s}"
        )
    a = config.autopilot
    if a.min_notes_per_s > a.max_notes_per_s:
        raise ConfigError(
            f"autopilot.min_notes_per_s: {a.min_notes_per_s} is above autopilot.max_notes_per_s"
        )
    url = config.mqtt.url
    if url and not url.startswith(("mqtt://", "mqtts://")):
        raise ConfigError(f"mqtt.url: {url!r} must start with mqtt:// or mqtts://")


def _check_resolves(key: str, host: str, port: int) -> None:
    """A target host that does not resolve would fail at start with a traceback."""
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(f"{key}: cannot resolve host {host!r} ({exc})") from exc


def _check_midi_number(key: str, text: str) -> None:
    if not text.isdigit() or not 0 <= int(text) <= 127:
        raise ConfigError(f"{key}: the key must be a number 0..127")
