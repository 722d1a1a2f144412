"""systemd's notify protocol (sd_notify(3)), from liveai's own process, standard library only.

Under a unit with `Type=notify` systemd sets NOTIFY_SOCKET: liveai sends `READY=1` once
it serves, `STATUS=` lines as it goes and `STOPPING=1` at shutdown, each a datagram to
that socket (a path, or an abstract name written with a leading '@'). With `WatchdogSec=`
it sets WATCHDOG_USEC (and WATCHDOG_PID): liveai then sends `WATCHDOG=1`, as
`liveai.runtime.watchdog` decides. With no NOTIFY_SOCKET every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

from ..core.stats import LogThrottle

log = logging.getLogger(__name__)


def socket_address(value: str) -> str | None:
    """NOTIFY_SOCKET as an AF_UNIX address, or None (unset, or a kind liveai does not
    speak: systemd's `vsock:` for virtual machines)."""
    if value.startswith("@"):  # the abstract namespace: a leading NUL byte
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    if value:
        log.warning("NOTIFY_SOCKET=%s is not a path nor an abstract socket; not telling systemd", value)
    return None


def watchdog_interval(environ: Mapping[str, str], pid: int) -> float | None:
    """WatchdogSec= in seconds, read as sd_watchdog_enabled(3) does: WATCHDOG_USEC, for
    this process only when WATCHDOG_PID names another; None when there is no watchdog."""
    try:
        usec = int(environ.get("WATCHDOG_USEC", "0"))
        owner = int(environ.get("WATCHDOG_PID") or pid)
    except ValueError:
        log.warning("WATCHDOG_USEC or WATCHDOG_PID is not a number; no watchdog")
        return None
    return usec / 1e6 if usec > 0 and owner == pid else None


class Notifier:
    """Datagrams to systemd; `send` never blocks and never raises (a full or vanished
    socket is counted in `errors` and said once a minute)."""

    def __init__(self, address: str | None) -> None:
        self.address = address  # None: not under systemd
        self.errors = 0
        self._sock: socket.socket | None = None
        self._status = ""
        self._say = LogThrottle(log, "more failed", interval_s=60.0, level=logging.WARNING)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Notifier:
        return cls(socket_address(environ.get("NOTIFY_SOCKET", "")))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *fields: str) -> bool:
        """One datagram of `fields` ("READY=1", "STATUS=..."); True when it went."""
        if self.address is None:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.setblocking(False)  # on the loop: a full queue drops, never waits
            self._sock.sendto("\n".join(fields).encode(), self.address)
        except OSError as exc:
            self.errors += 1
            self._say(time.monotonic(), "cannot tell systemd %s: %s", fields[0], exc)
            return False
        return True

    def status(self, text: str, *fields: str) -> None:
        """`STATUS=text` (with `fields` before it), unless it says what it said last."""
        if fields or text != self._status:
            self._status = text
            self.send(*fields, f"STATUS={text}")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
