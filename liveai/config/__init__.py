"""Configuration: the schema (`schema`, with value types from `types`) and loading (`load`)."""

from .load import build_config, load_config, parse_host_port
from .schema import (
    AudioConfig,
    AutopilotConfig,
    BudgetConfig,
    ClockConfig,
    Config,
    DuetConfig,
    HarmonizeConfig,
    MidiConfig,
    ModelConfig,
    MqttConfig,
    OscConfig,
    ServerConfig,
    StatusConfig,
    WebConfig,
)

__all__ = [
    "AudioConfig",
    "AutopilotConfig",
    "BudgetConfig",
    "ClockConfig",
    "Config",
    "DuetConfig",
    "HarmonizeConfig",
    "MidiConfig",
    "ModelConfig",
    "MqttConfig",
    "OscConfig",
    "ServerConfig",
    "StatusConfig",
    "WebConfig",
    "build_config",
    "load_config",
    "parse_host_port",
]
