"""Configuration: dataclass defaults, TOML files and `--set a.b=c` overrides.

The dataclass defaults are the default configuration (`config/default.toml` spells
them out for reading and a test keeps the two equal). Loading checks every key and
type and every range; a problem raises ConfigError with one line naming the key.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

MODES = ("off", "thru", "harmonize", "duet", "autopilot", "morph")
MIDI_APIS = ("auto", "jack", "alsa", "coremidi", "winmm", "none")
SCALES = (
    "major", "minor", "harmonic_minor", "dorian", "mixolydian", "lydian", "phrygian",
    "pentatonic_major", "pentatonic_minor", "blues", "chromatic",
)
KEYS = ("C", "C#", "Db", "D", "D#", "Eb", "E", "F", "F#", "Gb", "G", "G#", "Ab", "A", "A#", "Bb", "B")
# What a CC or program change can be mapped to.
CC_TARGETS = ("temperature", "tempo", "morph", "density")


def _range(lo: float, hi: float) -> dict[str, Any]:
    return {"range": (lo, hi)}


def _choice(options: tuple[str, ...]) -> dict[str, Any]:
    return {"choice": options}


@dataclass
class ServerConfig:
    mode: str = field(default="harmonize", metadata=_choice(MODES[:5]))
    temperature: float = field(default=1.0, metadata=_range(0.05, 2.0))
    # "shared": everyone plays into one session; "per_source": each OSC client (host:port)
    # and each MIDI input has its own session (own mode, own model state).
    sessions: str = field(default="shared", metadata=_choice(("shared", "per_source")))
    max_sessions: int = field(default=32, metadata=_range(1, 1024))
    log_level: str = field(default="info", metadata=_choice(("debug", "info", "warning", "error")))


@dataclass
class OscConfig:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = field(default=9000, metadata=_range(0, 65535))
    # Everything liveai sends goes to these "host:port" targets plus every subscriber.
    targets: list[str] = field(default_factory=lambda: ["127.0.0.1:9001"])
    max_subscribers: int = field(default=32, metadata=_range(1, 1024))
    # Bundles timetagged further ahead than this are refused (memory stays bounded).
    max_bundle_delay_s: float = field(default=60.0, metadata=_range(0.0, 3600.0))
    max_pending_bundles: int = field(default=1024, metadata=_range(1, 100000))


@dataclass
class MidiConfig:
    enabled: bool = True
    api: str = field(default="auto", metadata=_choice(MIDI_APIS))
    # Create virtual ports named "<client_name> in"/"<client_name> out".
    virtual: bool = True
    client_name: str = "liveai"
    # Hardware or software ports to connect to, matched by substring of their name.
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    poll_s: float = field(default=1.0, metadata=_range(0.05, 60.0))
    clock_in: bool = True
    clock_out: bool = False
    # "controller number" -> target, e.g. { "1" = "temperature", "74" = "morph" }.
    cc_map: dict[str, str] = field(default_factory=lambda: {"1": "temperature", "74": "morph"})
    # "program number" -> mode, e.g. { "0" = "off", "1" = "thru" }.
    program_map: dict[str, str] = field(
        default_factory=lambda: {"0": "off", "1": "thru", "2": "harmonize", "3": "duet", "4": "autopilot"}
    )


@dataclass
class MqttConfig:
    # Off unless set, e.g. "mqtt://127.0.0.1:1883" or "mqtts://broker:8883".
    url: str = ""
    instance: str = "default"
    username: str = ""
    password: str = ""
    # TLS: on for mqtts:// urls; ca_file empty = system trust store.
    ca_file: str = ""
    certfile: str = ""
    keyfile: str = ""
    telemetry_s: float = field(default=5.0, metadata=_range(0.1, 3600.0))
    keepalive_s: int = field(default=10, metadata=_range(1, 3600))
    reconnect_max_s: float = field(default=10.0, metadata=_range(0.1, 600.0))


@dataclass
class ClockConfig:
    bpm: float = field(default=120.0, metadata=_range(20.0, 300.0))
    # "internal" keeps its own tempo, "midi" follows incoming MIDI clock,
    # "auto" follows MIDI clock while it arrives and falls back to internal.
    source: str = field(default="auto", metadata=_choice(("internal", "midi", "auto")))
    # Timed output is planned this far ahead of its target time.
    lookahead_ms: float = field(default=10.0, metadata=_range(0.0, 1000.0))


@dataclass
class HarmonizeConfig:
    key: str = field(default="C", metadata=_choice(KEYS))
    scale: str = field(default="major", metadata=_choice(SCALES))
    # Intervals above the played note, in scale degrees (2 = a third) or semitones.
    intervals: list[int] = field(default_factory=lambda: [2, 4])
    interval_unit: str = field(default="degrees", metadata=_choice(("degrees", "semitones")))
    low: int = field(default=36, metadata=_range(0, 127))
    high: int = field(default=96, metadata=_range(0, 127))
    velocity_scale: float = field(default=1.0, metadata=_range(0.0, 2.0))
    # "model": the continuation model proposes the voices (the rule answers when it is
    # late); "rule": always the intervals above. Without a model it is always "rule".
    by: str = field(default="model", metadata=_choice(("model", "rule")))
    voices: int = field(default=2, metadata=_range(1, 3))


@dataclass
class ModelConfig:
    device: str = field(default="auto", metadata=_choice(("auto", "cpu", "cuda", "mps")))
    # A shipped model by name (models/<name>.pt) or a checkpoint path; "" = no model.
    continuation: str = "gru"
    threads: int = field(default=1, metadata=_range(1, 64))  # torch threads of the worker
    # "auto": int8 weights on a CPU (faster steps), float32 on a GPU; or "int8" / "none".
    quantize: str = field(default="auto", metadata=_choice(("auto", "int8", "none")))
    seed: int = field(default=-1, metadata=_range(-1, 2**31 - 1))  # -1: a new seed each run


@dataclass
class BudgetConfig:
    harmonize_ms: float = field(default=5.0, metadata=_range(0.1, 1000.0))
    duet_ms: float = field(default=20.0, metadata=_range(0.1, 10000.0))
    autopilot_ms: float = field(default=20.0, metadata=_range(0.1, 10000.0))
    morph_ms: float = field(default=50.0, metadata=_range(0.1, 10000.0))


@dataclass
class DuetConfig:
    phrase_gap_ms: float = field(default=600.0, metadata=_range(50.0, 10000.0))
    # The answer lasts about as long as the phrase, clamped to this range.
    min_response_s: float = field(default=1.0, metadata=_range(0.1, 120.0))
    max_response_s: float = field(default=8.0, metadata=_range(0.1, 120.0))
    # When the transport follows or leads a clock, a phrase also ends with its bar.
    answer_on_bar: bool = True
    beats_per_bar: int = field(default=4, metadata=_range(1, 16))
    # Snap answer notes to this fraction of a beat (0 = as the model plays them).
    quantize_beats: float = field(default=0.0, metadata=_range(0.0, 4.0))
    max_polyphony: int = field(default=4, metadata=_range(1, 16))
    # "follow": answers keep to the key of what the player played (Krumhansl-Schmuckler);
    # "state": to the key/scale set by /liveai/key; "free": the model alone decides.
    key: str = field(default="follow", metadata=_choice(("follow", "state", "free")))
    key_pull: float = field(default=4.0, metadata=_range(0.0, 8.0))  # with "follow": keep degrees in proportion


@dataclass
class AutopilotConfig:
    horizon_s: float = field(default=2.0, metadata=_range(0.2, 30.0))  # generated ahead of now
    # density 0..1 maps onto this many notes per second
    min_notes_per_s: float = field(default=0.5, metadata=_range(0.05, 50.0))
    max_notes_per_s: float = field(default=8.0, metadata=_range(0.1, 100.0))
    max_polyphony: int = field(default=4, metadata=_range(1, 16))
    # Every so often the state restarts from its own recent output (bounded memory, no drift).
    reprime_s: float = field(default=300.0, metadata=_range(5.0, 86400.0))
    channel: int = field(default=1, metadata=_range(1, 16))


@dataclass
class AudioConfig:
    enabled: bool = False
    device: str = ""
    samplerate: int = field(default=48000, metadata=_range(8000, 192000))
    blocksize: int = field(default=256, metadata=_range(16, 8192))


@dataclass
class StatusConfig:
    # Window over which events/s and latency percentiles are computed.
    window_s: float = field(default=10.0, metadata=_range(1.0, 3600.0))


@dataclass
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    osc: OscConfig = field(default_factory=OscConfig)
    midi: MidiConfig = field(default_factory=MidiConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    clock: ClockConfig = field(default_factory=ClockConfig)
    harmonize: HarmonizeConfig = field(default_factory=HarmonizeConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    duet: DuetConfig = field(default_factory=DuetConfig)
    autopilot: AutopilotConfig = field(default_factory=AutopilotConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
    status: StatusConfig = field(default_factory=StatusConfig)


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
    config = _build(Config, data, "")
    _check_relations(config)
    return config


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
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in known:
            raise ConfigError(f"{prefix}{key}: unknown key (known: {', '.join(known)})")
    kwargs = {}
    for name, f in known.items():
        if name not in data:
            continue
        hint = hints[name]
        key = f"{prefix}{name}"
        if dataclasses.is_dataclass(hint):
            kwargs[name] = _build(hint, data[name], key + ".")
        else:
            kwargs[name] = _check_value(key, data[name], hint, f.metadata)
    return cls(**kwargs)


def _check_value(key: str, value: Any, hint: Any, meta: Any) -> Any:
    value = _check_type(key, value, hint)
    if "range" in meta:
        lo, hi = meta["range"]
        if not lo <= value <= hi:
            raise ConfigError(f"{key}: {value!r} is out of range {lo}..{hi}")
    if "choice" in meta and value not in meta["choice"]:
        raise ConfigError(f"{key}: {value!r} is not one of {', '.join(meta['choice'])}")
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
        return {str(k): _check_type(f"{key}.{k}", v, item) for k, v in value.items()}
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
        parse_host_port(target, f"osc.targets[{i}]")
    h = config.harmonize
    if h.low > h.high:
        raise ConfigError(f"harmonize.low: {h.low} is above harmonize.high {h.high}")
    for i, step in enumerate(h.intervals):
        if not -24 <= step <= 24:
            raise ConfigError(f"harmonize.intervals[{i}]: {step} is out of range -24..24")
    for number, target in config.midi.cc_map.items():
        _check_midi_number(f"midi.cc_map.{number}", number)
        if target not in CC_TARGETS:
            raise ConfigError(f"midi.cc_map.{number}: {target!r} is not one of {', '.join(CC_TARGETS)}")
    for number, mode in config.midi.program_map.items():
        _check_midi_number(f"midi.program_map.{number}", number)
        if mode not in MODES:
            raise ConfigError(f"midi.program_map.{number}: {mode!r} is not one of {', '.join(MODES)}")
    d = config.duet
    if d.min_response_s > d.max_response_s:
        raise ConfigError(f"duet.min_response_s: {d.min_response_s} is above duet.max_response_s {d.max_response_s}")
    a = config.autopilot
    if a.min_notes_per_s > a.max_notes_per_s:
        raise ConfigError(f"autopilot.min_notes_per_s: {a.min_notes_per_s} is above autopilot.max_notes_per_s")
    url = config.mqtt.url
    if url and not url.startswith(("mqtt://", "mqtts://")):
        raise ConfigError(f"mqtt.url: {url!r} must start with mqtt:// or mqtts://")


def _check_midi_number(key: str, text: str) -> None:
    if not text.isdigit() or not 0 <= int(text) <= 127:
        raise ConfigError(f"{key}: the key must be a number 0..127")


def as_dict(config: Config) -> dict[str, Any]:
    return dataclasses.asdict(config)
