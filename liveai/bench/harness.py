"""Real peers for tests and benchmarks: a `liveai serve` subprocess and OSC clients,
and the figures every benchmark reports.

They talk to liveai the way users do (UDP datagrams to a separate process), so the
integration tests and `liveai bench` measure and check the real thing.
"""

from __future__ import annotations

import fcntl
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from ..core.stats import percentiles_ms
from ..runtime.niceness import keep_niceness

Message = tuple[str, list[Any]]


# Ports a bench or a test hands to a server it starts: below Linux's ephemeral range, so no
# client's source port lands on one, above Ableton Link's 20808, and taken in turn from a
# counter that every process of this user shares, so two processes starting servers at
# once never pick the same.
PORTS_FILE = Path(tempfile.gettempdir()) / f"liveai-ports-{os.getuid()}"
PORTS = (21_000, 32_768)


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A loopback port of `kind` that is free now and that no process took lately."""
    low, high = PORTS
    try:
        counter = open(PORTS_FILE, "a+b")
    except OSError:  # no shared counter here: any free port the kernel gives
        return _any_port(kind)
    with counter:
        fcntl.flock(counter, fcntl.LOCK_EX)  # released when the file closes
        counter.seek(0)
        try:
            port = int(counter.read(16))
        except ValueError:  # new, or not a number: start anywhere
            port = random.randrange(low, high)
        for _ in range(high - low):
            port = port + 1 if low <= port < high - 1 else low
            if _free(port, kind):
                counter.seek(0)
                counter.truncate()
                counter.write(str(port).encode())
                return port
    raise OSError(f"no free port in {low}-{high - 1}")


def _free(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _any_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def osc_message(address: str, *args: Any, types: str | None = None) -> bytes:
    """Encode a message; `types` forces OSC type tags, e.g. "ff" to send floats like Pd."""
    builder = OscMessageBuilder(address)
    for i, arg in enumerate(args):
        builder.add_arg(arg, types[i] if types else None)
    return builder.build().dgram


def decode(data: bytes) -> Message:
    """The first message of a datagram (bundles are flattened)."""
    message: OscMessage = OscPacket(data).messages[0].message
    return message.address, list(message.params)


# -- asking the server ------------------------------------------------------------------
class Receiver(Protocol):
    def receive(self, timeout: float = 1.0) -> Message | None:
        """The next message, or None after `timeout`."""
        ...


Send = Callable[..., None]  # send(address, *args)


def expect(receiver: Receiver, address: str, timeout: float = 2.0) -> list[Any]:
    """Arguments of the next message at `address`, skipping others; AssertionError if none."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        got = receiver.receive(left)
        if got is not None and got[0] == address:
            return got[1]
    raise AssertionError(f"no {address} within {timeout} s")


def wait_pong(send: Send, receiver: Receiver, token: Any = "ready", timeout: float = 10.0) -> None:
    """Ping until the matching pong arrives (the server may still be starting)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        send("/liveai/ping", token)
        answer_by = time.monotonic() + 0.2
        while (left := answer_by - time.monotonic()) > 0:
            if receiver.receive(left) == ("/liveai/pong", [token]):
                return
    raise TimeoutError(f"no /liveai/pong within {timeout} s")


def ping_round_trip(send: Send, answers: OscAnswers, token: Any, timeout: float = 0.5) -> float | None:
    """Seconds from a ping to its pong, as the answers' thread stamped its arrival;
    None if it did not come within `timeout`."""
    sent = time.perf_counter()
    send("/liveai/ping", token)
    while (left := sent + timeout - time.perf_counter()) > 0:
        got = answers.receive_timed(left)
        if got is not None and got[1] == ("/liveai/pong", [token]):
            return got[0] - sent
    return None


def ask_status(send: Send, receiver: Receiver, timeout: float = 2.0) -> dict[str, Any]:
    """`/liveai/status` as a dict."""
    send("/liveai/status")
    args = expect(receiver, "/liveai/status", timeout)
    return dict(zip(args[0::2], args[1::2]))


# -- figures -------------------------------------------------------------------------------
def summarize(
    latencies_s: Sequence[float], sent: int, lost: int, achieved_rate: float | None = None
) -> dict[str, Any]:
    """Round-trip figures in milliseconds: p50, p99, p99.9 and max, with what was lost."""
    figures: dict[str, Any] = {"sent": sent, "answered": len(latencies_s), "lost": lost}
    if achieved_rate is not None:
        figures["achieved_rate"] = round(achieved_rate, 1)
    if latencies_s:
        p50, p99, p999, top = percentiles_ms(latencies_s, (50, 99, 99.9, 100))
        figures.update(
            p50_ms=round(p50, 3), p99_ms=round(p99, 3), p999_ms=round(p999, 3), max_ms=round(top, 3)
        )
    return figures


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.platform(),
    }


class OscPeer:
    """A UDP OSC client with its own listening socket (the `osc.targets` of a server)."""

    def __init__(self, server_port: int, listen_port: int = 0) -> None:
        self.server = ("127.0.0.1", server_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        self.sock.bind(("127.0.0.1", listen_port))
        self.port = int(self.sock.getsockname()[1])
        self.held: list[Message] = []  # read past while waiting for a pong, returned first

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

    def receive(self, timeout: float = 1.0) -> Message | None:
        """The next message (bundles are flattened), or None after `timeout`."""
        return self.held.pop(0) if self.held else self._read(timeout)

    def _read(self, timeout: float) -> Message | None:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return None
        return decode(data)

    def expect(self, address: str, timeout: float = 2.0) -> list[Any]:
        return expect(self, address, timeout)

    def collect(self, duration: float) -> list[Message]:
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
        return ask_status(self.send, self, timeout)

    def wait_pong(self, token: Any = "ready", timeout: float = 10.0) -> None:
        """As `wait_pong`; then the pongs of the pings a slow start left queued are read
        past (up to one more ping's pong), so the caller's next pong is its own."""
        wait_pong(self.send, self, token, timeout)
        self.send("/liveai/ping", "synced")
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            got = self._read(left)
            if got == ("/liveai/pong", ["synced"]):
                return
            if got is not None and got != ("/liveai/pong", [token]):
                self.held.append(got)
        raise TimeoutError(f"no /liveai/pong within {timeout} s")


class Answers(Protocol):
    def answer(self, pitch: int, velocity: int, channel: int, t: float) -> None:
        """Called on the receiving thread for every note that comes back, `t` its arrival."""
        ...


class OscAnswers:
    """A UDP socket read on its own thread (a bench's `osc.targets`): notes go to the
    round trip being measured, stamped as they arrive; everything else to `receive`."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.round_trip: Answers | None = None
        self._other: deque[tuple[float, Message]] = deque(maxlen=1000)  # the oldest go first
        self._arrived = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return  # closed
            t = time.perf_counter()
            address, params = decode(data)
            if address == "/liveai/out/note" and self.round_trip is not None:
                pitch, velocity, channel = params[:3]
                self.round_trip.answer(int(pitch), int(velocity), int(channel), t)
            else:
                with self._arrived:
                    self._other.append((t, (address, params)))
                    self._arrived.notify()

    def receive(self, timeout: float = 1.0) -> Message | None:
        got = self.receive_timed(timeout)
        return None if got is None else got[1]

    def receive_timed(self, timeout: float = 1.0) -> tuple[float, Message] | None:
        """The next message that is not a note, with its arrival time (perf_counter)."""
        with self._arrived:
            if not self._other and timeout > 0:
                self._arrived.wait_for(lambda: bool(self._other), timeout)
            return self._other.popleft() if self._other else None

    def drain(self) -> None:
        while self.receive(0.0) is not None:
            pass

    def close(self) -> None:
        self.sock.close()


class ServerProcess:
    """`python -m liveai serve` in a subprocess with `--set` overrides."""

    def __init__(
        self,
        overrides: list[str] | None = None,
        config: str | None = None,
        env: dict[str, str] | None = None,
        log_path: str | Path | None = None,
        command: Sequence[str] = (sys.executable, "-m", "liveai"),
        cwd: str | Path | None = None,
    ) -> None:
        """`command` runs liveai (default: this interpreter's); `cwd` is where it starts."""
        self.args = [*command, "serve"]
        self.cwd = cwd
        if config:
            self.args += ["--config", config]
        if not any(item.startswith("web.port=") for item in overrides or []):
            self.args += ["--set", "web.port=0"]  # a bench or a test never takes the player's 9080
        for item in overrides or []:
            self.args += ["--set", item]
        self.env = {**os.environ, **(env or {})}
        self.log_path = Path(log_path) if log_path else None
        self.web_port = 0  # the HTTP port, when the caller chose it
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        if self.log_path is None:
            self.proc = subprocess.Popen(
                self.args,
                env=self.env,
                cwd=self.cwd,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        else:
            with open(self.log_path, "wb") as log:  # the child keeps its own copy
                self.proc = subprocess.Popen(
                    self.args, env=self.env, cwd=self.cwd, stdout=log, stderr=log, start_new_session=True
                )
        keep_niceness(self.proc.pid)
        return self

    def send_signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0, group: bool = False) -> int:
        """Signal the server and wait; return its exit code (kills it if it hangs).
        `group`: signal its whole process group, as systemd (every process of the unit)
        and a terminal's Ctrl-C do, liveai's own child processes too."""
        assert self.proc is not None
        if self.proc.poll() is None:
            if group:
                os.killpg(self.proc.pid, sig)
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise TimeoutError(
                    f"the server did not exit within {timeout:g} s of signal {sig} and "
                    f"was killed; its log:\n{self.log()}"
                ) from None
        return int(self.proc.returncode)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""
