"""liveai's audio processes, seen from liveai (#12): start one with the descriptors it
shares, read the line it says when it is ready (or why not), and stop it."""

from __future__ import annotations

import logging
import select
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

log = logging.getLogger(__name__)


class Child:
    """A `python -m <module> ARGS...` process that says one line on stdout when it is
    ready, then runs until it is stopped or ends itself. `quiet` drops its stderr (the
    audio process's is JACK's and ALSA's chatter while they look for servers and cards;
    what matters it says on stdout); else it is liveai's."""

    def __init__(self, module: str, args: Sequence[str], fds: Sequence[int], quiet: bool = False) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL if quiet else None,
            text=True,
            pass_fds=tuple(fds),
        )

    def first_line(self, timeout: float, stop: threading.Event | None = None) -> str:
        """What it says first, or "" when it says nothing within `timeout` (it died, or
        hangs) or `stop` is set meanwhile (liveai is stopping)."""
        stdout = self.process.stdout
        deadline = time.monotonic() + timeout
        while stdout is not None and not (stop is not None and stop.is_set()):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if select.select([stdout], [], [], min(left, 0.1))[0]:
                return stdout.readline().strip()
        return ""

    def exit_code(self, timeout: float = 1.0) -> int | str:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return "no answer"

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 2 s (a process stuck in a vanished device's
        driver); one that still does not end (in the kernel) is left, and said."""
        process = self.process
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(2.0)
            except subprocess.TimeoutExpired:
                process.kill()
                try:
                    process.wait(2.0)
                except subprocess.TimeoutExpired:
                    log.warning("audio: process %d does not end even when killed; leaving it", process.pid)
        if process.stdout is not None:
            process.stdout.close()
