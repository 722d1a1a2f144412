"""Real peers for tests and benchmarks: a `liveai serve` subprocess and an OSC client.

Both talk to liveai the way users do (UDP datagrams to a separate process), so the
integration tests and `liveai bench` measure and check the real thing.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def osc_message(address: str, *args: Any, types: str | None = None) -> bytes:
    """Encode a message; `types` forces OSC type tags, e.g. "ff" to send floats like Pd."""
    builder = OscMessageBuilder(address)
    for i, arg in enumerate(args):
        builder.add_arg(arg, types[i] if types else None)
    return builder.build().dgram


class OscPeer:
    """A UDP OSC client with its own listening socket (the `osc.targets` of a server)."""

    def __init__(self, server_port: int, listen_port: int = 0) -> None:
        self.server = ("127.0.0.1", server_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        self.sock.bind(("127.0.0.1", listen_port))
        self.port = int(self.sock.getsockname()[1])

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> OscPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, address: str, *args: Any, types: str | None = None) -> None:
        self.sock.sendto(osc_message(address, *args, types=types), self.server)

    def send_raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.server)

    def receive(self, timeout: float = 1.0) -> tuple[str, list[Any]] | None:
        """The next message (bundles are flattened), or None after `timeout`."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except (TimeoutError, socket.timeout):
            return None
        message: OscMessage = OscPacket(data).messages[0].message
        return message.address, list(message.params)

    def expect(self, address: str, timeout: float = 2.0) -> list[Any]:
        """Arguments of the next message at `address`, skipping others; AssertionError if none."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            got = self.receive(left)
            if got is not None and got[0] == address:
                return got[1]
        raise AssertionError(f"no {address} within {timeout} s")

    def collect(self, duration: float) -> list[tuple[str, list[Any]]]:
        """Everything that arrives within `duration` seconds."""
        out = []
        deadline = time.monotonic() + duration
        while (left := deadline - time.monotonic()) > 0:
            got = self.receive(left)
            if got is not None:
                out.append(got)
        return out

    def drain(self) -> None:
        while self.receive(0.05) is not None:
            pass

    def status(self, timeout: float = 2.0) -> dict[str, Any]:
        self.send("/liveai/status")
        args = self.expect("/liveai/status", timeout)
        return dict(zip(args[0::2], args[1::2]))

    def wait_pong(self, token: Any = "ready", timeout: float = 10.0) -> None:
        """Ping until the matching pong arrives (the server may still be starting)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.send("/liveai/ping", token)
            got_until = time.monotonic() + 0.2
            while (left := got_until - time.monotonic()) > 0:
                got = self.receive(left)
                if got == ("/liveai/pong", [token]):
                    return
        raise TimeoutError(f"no /liveai/pong from 127.0.0.1:{self.server[1]} within {timeout} s")


class ServerProcess:
    """`python -m liveai serve` in a subprocess with `--set` overrides."""

    def __init__(self, overrides: list[str] | None = None, config: str | None = None,
                 env: dict[str, str] | None = None, log_path: str | Path | None = None) -> None:
        self.args = [sys.executable, "-m", "liveai", "serve"]
        if config:
            self.args += ["--config", config]
        for item in overrides or []:
            self.args += ["--set", item]
        self.env = {**os.environ, **(env or {})}
        self.log_path = Path(log_path) if log_path else None
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        if self.log_path is None:
            self.proc = subprocess.Popen(self.args, env=self.env, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        else:
            with open(self.log_path, "wb") as log:  # the child keeps its own copy
                self.proc = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=log)
        return self

    def send_signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5.0) -> int:
        """Signal the server and wait; return its exit code (kills it if it hangs)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return int(self.proc.returncode)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""
