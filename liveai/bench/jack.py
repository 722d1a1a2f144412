"""JACK for the MIDI benchmarks: a server with the dummy driver when none runs, port
names as JACK lists them, connections."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from ..transports.midi_backend import jack_running

PERIOD = 64  # frames at 48 kHz: 1.3 ms


def jack(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, env=os.environ).stdout


def start_jack(stack: ExitStack) -> None:
    """Make sure a JACK server runs for this process and its children (stopped with `stack`)."""
    if jack_running():
        return
    name = f"liveai-bench-{os.getpid()}"
    os.environ["JACK_DEFAULT_SERVER"] = name
    start_jackd(stack, name, PERIOD, realtime=False)


def start_jackd(stack: ExitStack, name: str, period: int, realtime: bool) -> dict[str, str]:
    """A dummy-driver JACK server `name` (48 kHz, `period` frames), stopped with `stack`;
    the environment its clients need. TimeoutError if it does not start (a realtime one
    where the system refuses realtime scheduling, say)."""
    proc, env = launch_jackd(name, period, realtime)
    stack.callback(terminate, proc)
    return env


def launch_jackd(name: str, period: int, realtime: bool) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """start_jackd's server, left to the caller to stop; with its environment."""
    env = {**os.environ, "JACK_DEFAULT_SERVER": name, "JACK_NO_START_SERVER": "1"}
    scheduling = ["--realtime", "-P", "70"] if realtime else ["--no-realtime"]
    proc = subprocess.Popen(
        ["jackd", "-n", name, *scheduling, "-d", "dummy", "-r", "48000", "-p", str(period)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 10
    while subprocess.run(["jack_lsp"], capture_output=True, env=env).returncode != 0:
        if proc.poll() is not None or time.monotonic() > deadline:
            terminate(proc)
            raise TimeoutError(f"jackd {name} did not start")
        time.sleep(0.05)
    return proc, env


def registered(name: str) -> bool:
    """Whether JACK's registry of servers (8 for the whole machine) still names `name`."""
    try:
        data = Path("/dev/shm/jack-shm-registry").read_bytes()
    except OSError:
        return False
    return f"jack-{os.getuid()}:{name}:".encode() in data


def free_slot(name: str, start: Callable[[], None], stop: Callable[[], None]) -> None:
    """A server SIGKILLed and started again under its name can keep its entry in JACK's
    registry after a clean stop (jackd 1.9.21, seen with clients of the dead server
    about), and 8 entries fill the machine: one more start and stop frees it."""
    if registered(name):
        start()
        stop()


def period_frames() -> int | None:
    words = jack("jack_bufsize").split()[:1]
    return int(words[0]) if words and words[0].isdigit() else None


def port(text: str, timeout: float = 10.0) -> str:
    """The full name of the JACK port whose name ends with `text`, once it exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        names = [p for p in jack("jack_lsp").splitlines() if p.endswith(text)]
        if names:
            return names[0]
        time.sleep(0.05)
    raise TimeoutError(f"no JACK port named *{text}")


def connect_through(player: str, into: str, out_of: str, listener: str) -> None:
    """player -> into ... out_of -> listener: a round trip through a client."""
    jack("jack_connect", player, into)
    jack("jack_connect", out_of, listener)


def terminate(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait()
