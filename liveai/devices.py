"""`liveai devices`: which MIDI backends work, their ports, and the audio devices."""

from __future__ import annotations

from typing import Any

from .config import Config
from .errors import TransportError
from .transports import midi_backend


def describe_midi(config: Config) -> dict[str, Any]:
    apis: dict[str, Any] = {}
    for api in midi_backend.compiled_apis():
        try:
            midi_backend.check_available(api)
            inputs, outputs = midi_backend.port_names(api)
        except TransportError as exc:
            apis[api] = {"works": False, "problem": str(exc)}
            continue
        apis[api] = {"works": True, "inputs": inputs, "outputs": outputs}
    return {
        "configured_api": config.midi.api,
        "chosen_api": midi_backend.choose_api(config.midi.api),
        "apis": apis,
    }


def describe_audio() -> dict[str, Any]:
    try:
        import sounddevice
    except OSError as exc:  # PortAudio itself is missing
        return {"works": False, "problem": f"PortAudio not found: {exc}"}
    try:
        devices = sounddevice.query_devices()
        apis = sounddevice.query_hostapis()
    except sounddevice.PortAudioError as exc:
        return {"works": False, "problem": str(exc)}
    return {
        "works": True,
        "host_apis": [api["name"] for api in apis],
        "devices": [
            {"index": i, "name": d["name"], "inputs": d["max_input_channels"],
             "outputs": d["max_output_channels"], "samplerate": d["default_samplerate"]}
            for i, d in enumerate(devices)
        ],
    }


def describe_devices(config: Config) -> dict[str, Any]:
    return {"midi": describe_midi(config), "audio": describe_audio()}
