"""systemd's side of sd_notify, for the watchdog check and its tests: an abstract
datagram socket as `NOTIFY_SOCKET` names it, read on a thread, each message kept with
its arrival time."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable


class NotifySocket:
    def __init__(self) -> None:
        self.name = f"@liveai-notify-{os.getpid()}-{id(self)}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.name[1:])
        self.got: list[tuple[float, str]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return  # closed
            if not data:
                return  # shut down
            self.got.append((time.monotonic(), data.decode()))

    def messages(self) -> list[str]:
        return [text for _, text in list(self.got)]

    def pings(self) -> list[float]:
        """When each WATCHDOG=1 came."""
        return [t for t, text in list(self.got) if text == "WATCHDOG=1"]

    def wait(self, match: Callable[[str], bool], what: str, timeout: float = 10.0) -> int:
        """The index of the first message that matches."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, text in enumerate(self.messages()):
                if match(text):
                    return i
            time.sleep(0.01)
        raise TimeoutError(f"no {what} within {timeout} s")

    def first(self, prefix: str, timeout: float) -> float:
        """When the first message starting with `prefix` came."""
        return self.got[self.wait(lambda text: text.startswith(prefix), prefix, timeout)][0]

    def close(self) -> None:
        if self.sock.fileno() == -1:
            return  # closed already
        self.sock.shutdown(socket.SHUT_RDWR)  # wakes the reader, which lets the name go
        self.sock.close()
