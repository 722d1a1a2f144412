"""liveai's audio processes, seen from liveai (#12): start one with the descriptors it
shares, read the line it says when it is ready (or why not), and stop it."""

from __future__ import annotations

import select
import subprocess
import sys
from collections.abc import Sequence


class Child:
    """A `python -m <module> ARGS...` process that says one line on stdout when it is
    ready, then runs until it is stopped or ends itself. `quiet` drops its stderr (the
    audio process's is JACK's and ALSA's chatter while they look for servers and cards;
    what matters it says on stdout); else it is liveai's."""

    def __init__(self, module: str, args: Sequence[str], fds: Sequence[int], quiet: bool = False) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", module, *args], stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL if quiet else None, text=True,
                                        pass_fds=tuple(fds))

    def first_line(self, timeout: float) -> str:
        """What it says first, or "" when it says nothing within `timeout` (it died, or hangs)."""
        stdout = self.process.stdout
        if stdout is None or not select.select([stdout], [], [], timeout)[0]:
            return ""
        return stdout.readline().strip()

    def exit_code(self, timeout: float = 1.0) -> int | str:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return "no answer"

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 2 s (a process stuck in a vanished device's driver)."""
        process = self.process
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(2.0)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
