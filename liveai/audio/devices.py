"""The audio devices PortAudio sees (`liveai devices`)."""

from __future__ import annotations

from typing import Any


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
    listed = [
        {
            "index": i,
            "name": d["name"],
            "inputs": d["max_input_channels"],
            "outputs": d["max_output_channels"],
            "samplerate": d["default_samplerate"],
        }
        for i, d in enumerate(devices)
    ]
    report: dict[str, Any] = {"host_apis": [api["name"] for api in apis], "devices": listed}
    # PortAudio loads on a machine with no sound card, and offers nothing to play on
    if not any(d["outputs"] > 0 for d in listed):
        return {"works": False, "problem": "no audio output device (no sound card, no JACK server)", **report}
    return {"works": True, **report}
