"""The MIDI half of `liveai bench`: round trips through a JACK server (dummy driver).

A running JACK server is used as it is; otherwise one is started with the dummy driver,
48 kHz and a period of 64 frames, and stopped afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import ExitStack
from typing import Any

import mido

from ..transports.midi_backend import jack_running
from .harness import OscPeer, ServerProcess, free_port
from .latency import RoundTrip, _terminate, harmonized_first_voice

PERIOD = 64


def _jack(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, env=os.environ).stdout


def start_jack(stack: ExitStack) -> None:
    """Make sure a JACK server runs for this process and its children."""
    if jack_running():
        return
    name = f"liveai-bench-{os.getpid()}"
    os.environ["JACK_DEFAULT_SERVER"] = name
    proc = subprocess.Popen(["jackd", "-n", name, "--no-realtime", "-d", "dummy", "-r", "48000", "-p", str(PERIOD)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stack.callback(_terminate, proc)
    deadline = time.monotonic() + 10
    while not jack_running():
        if time.monotonic() > deadline:
            raise TimeoutError("jackd did not start")
        time.sleep(0.05)


def port(text: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        names = [p for p in _jack("jack_lsp").splitlines() if p.endswith(text)]
        if names:
            return names[0]
        time.sleep(0.05)
    raise TimeoutError(f"no JACK port named *{text}")


def bench_midi(rates: list[float], seconds: float, overrides: list[str], config_path: str | None) -> dict[str, Any]:
    with ExitStack() as stack:
        start_jack(stack)
        period = _jack("jack_bufsize").split()[:1]
        midi = mido.Backend("mido.backends.rtmidi/UNIX_JACK")
        player = midi.open_output("bench player", virtual=True, client_name="bench")
        stack.callback(player.close)

        def send(pitch: int, velocity: int, channel: int) -> None:
            player.send(mido.Message("note_on", note=pitch, velocity=velocity, channel=channel - 1))

        trip: RoundTrip | None = None

        def heard(msg: mido.Message) -> None:
            t = time.perf_counter()
            if trip is not None and msg.type in ("note_on", "note_off"):
                velocity = msg.velocity if msg.type == "note_on" else 0
                trip.answer(msg.note, velocity, msg.channel + 1, t)

        listener = midi.open_input("bench listener", virtual=True, client_name="bench", callback=heard)
        stack.callback(listener.close)

        osc_port = free_port()
        peer = stack.enter_context(OscPeer(osc_port))
        server = ServerProcess([f"osc.port={osc_port}", f'osc.targets=["127.0.0.1:{peer.port}"]', "midi.api=jack",
                                "server.mode=harmonize", "harmonize.by=rule", *overrides], config=config_path).start()
        stack.callback(server.stop)
        peer.wait_pong(timeout=15)
        _connect(port("bench player"), port("liveai in"), port("liveai out"), port("bench listener"))
        trip = RoundTrip(send, harmonized_first_voice(config_path, overrides))
        trip.run(200, 1.0)  # warm-up
        liveai = {f"{rate:g}/s": trip.run(rate, seconds) for rate in rates}
        peer.drain()
        status = peer.status()
        server.stop()

        echo = subprocess.Popen([sys.executable, "-m", "liveai.bench.echo_midi", "echo"], stdout=subprocess.PIPE,
                                text=True)
        stack.callback(_terminate, echo)
        assert echo.stdout is not None and echo.stdout.readline().strip() == "ready"
        _connect(port("bench player"), port("echo in"), port("echo out"), port("bench listener"))
        trip = RoundTrip(send, lambda p: p)
        trip.run(200, 1.0)
        floor = {f"{rate:g}/s": trip.run(rate, seconds) for rate in rates}
        if echo.stdout is not None:
            echo.stdout.close()
    return {"jack_period_frames": int(period[0]) if period and period[0].isdigit() else None,
            "liveai_harmonize": liveai, "floor_mido_echo": floor, "server_status_after": status}


def _connect(player: str, into: str, out_of: str, listener: str) -> None:
    _jack("jack_connect", player, into)
    _jack("jack_connect", out_of, listener)
