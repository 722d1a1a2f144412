"""Which MIDI system to talk to (JACK, ALSA, CoreMIDI, Windows MM) and its port names.

mido with python-rtmidi does the talking; this module only picks the API and turns
rtmidi's failures into TransportError.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Any

import mido
import rtmidi

from ..errors import TransportError

# config `midi.api` -> mido's rtmidi API name
RTMIDI_APIS = {"jack": "UNIX_JACK", "alsa": "LINUX_ALSA", "coremidi": "MACOSX_CORE", "winmm": "WINDOWS_MM"}

# Without this, a JACK client that finds no server tries to start one.
os.environ.setdefault("JACK_NO_START_SERVER", "1")


def jack_running() -> bool:
    """True when a JACK server answers on its socket (checked without opening a client,
    so nothing is printed when none runs)."""
    name = os.environ.get("JACK_DEFAULT_SERVER", "default")
    uid = os.getuid() if hasattr(os, "getuid") else 0
    for folder in (os.environ.get("JACK_TMPDIR", ""), "/dev/shm", "/tmp"):
        path = Path(folder or "/nonexistent") / f"jack_{name}_{uid}_0"
        if path.exists() and _socket_answers(path):
            return True
    return False


def _socket_answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        try:
            sock.connect(str(path))
        except OSError:
            return False  # a stale socket left by a server that died
    return True


def compiled_apis() -> list[str]:
    """The config names of the APIs this python-rtmidi build supports."""
    compiled = set(rtmidi.get_compiled_api())
    return [key for key, rt in RTMIDI_APIS.items() if getattr(rtmidi, f"API_{rt}") in compiled]


def choose_api(requested: str) -> str | None:
    """The API to use for `midi.api` (None: MIDI is switched off)."""
    if requested == "none":
        return None
    if requested != "auto":
        return requested
    if jack_running():
        return "jack"
    if sys.platform == "darwin":
        return "coremidi"
    if sys.platform == "win32":
        return "winmm"
    return "alsa"


def check_available(api: str) -> None:
    """Refuse early, without the C libraries' noise on stderr, when the system is absent."""
    if api == "jack" and not jack_running():
        raise TransportError("no JACK server is running")
    if api == "alsa" and not Path("/dev/snd/seq").exists():
        raise TransportError(
            "no ALSA sequencer (/dev/snd/seq is missing; without MIDI: --set midi.enabled=false)"
        )


def backend(api: str) -> mido.Backend:
    if api not in compiled_apis():
        raise TransportError(f"MIDI API {api!r} is not available in this python-rtmidi build")
    return mido.Backend(f"mido.backends.rtmidi/{RTMIDI_APIS[api]}", load=True)


def port_names(api: str) -> tuple[list[str], list[str]]:
    """(input names, output names) of the ports the API sees now (one-off: opens a client)."""
    midi = backend(api)
    try:
        return list(midi.get_input_names()), list(midi.get_output_names())
    except (OSError, rtmidi.SystemError) as exc:
        raise TransportError(f"cannot list {api} MIDI ports: {exc}") from exc


class PortLister:
    """Lists ports through one lasting rtmidi client per direction, for polling (in
    liveai's MIDI process).

    mido's get_*_names open and close a new client on every call, ~35 ms each with JACK,
    holding the GIL. Listing through clients that stay open costs ~15 us."""

    def __init__(self, api: str) -> None:
        check_available(api)
        self.api = api
        rtapi = getattr(rtmidi, f"API_{RTMIDI_APIS[api]}")
        try:
            self._in = rtmidi.MidiIn(rtapi=rtapi, name="liveai lister")
            self._out = rtmidi.MidiOut(rtapi=rtapi, name="liveai lister")
        except rtmidi.SystemError as exc:
            raise TransportError(f"cannot list {api} MIDI ports: {exc}") from exc

    def names(self) -> tuple[list[str], list[str]]:
        if self.api == "jack" and not jack_running():  # a client of a dead server must not be used
            raise TransportError("the JACK server went away")
        try:
            return list(self._in.get_ports()), list(self._out.get_ports())
        except rtmidi.SystemError as exc:
            raise TransportError(f"cannot list {self.api} MIDI ports: {exc}") from exc

    def close(self) -> None:
        self._in.delete()
        self._out.delete()


def match(patterns: list[str], names: list[str], exclude: set[str]) -> dict[str, str]:
    """Port name -> the pattern it matches (by case-insensitive substring)."""
    found: dict[str, str] = {}
    for pattern in patterns:
        for name in names:
            if name not in exclude and pattern.lower() in name.lower():
                found.setdefault(name, pattern)
    return found


def describe_midi(requested_api: str) -> dict[str, Any]:
    """Which MIDI systems work here and their ports (`liveai devices`)."""
    apis: dict[str, Any] = {}
    for api in compiled_apis():
        try:
            check_available(api)
            inputs, outputs = port_names(api)
        except TransportError as exc:
            apis[api] = {"works": False, "problem": str(exc)}
            continue
        apis[api] = {"works": True, "inputs": inputs, "outputs": outputs}
    return {
        "configured_api": requested_api,
        "chosen_api": choose_api(requested_api),
        "apis": apis,
    }
