"""liveai's synth processes, both sides of the line each says: liveai starts one with the
descriptors it shares, reads the line it says when it is ready (or why not), and stops
it (`Child`); the process says its lines with `say`, and its `main` runs under `run`."""

from __future__ import annotations

import logging
import os
import select
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)


class Child:
    """A `python -m <module> ARGS...` process that says one line on stdout when it is
    ready, then runs until it is stopped or ends itself. `quiet` drops its stderr (the
    output process's is JACK's and ALSA's chatter while they look for servers and cards;
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
                    log.warning("process %d does not end even when killed; leaving it", process.pid)
        if process.stdout is not None:
            process.stdout.close()


def say(line: str) -> None:
    """One line to liveai, at once."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def run(main: Callable[[list[str]], int], argv: list[str], failed: str, code: int, trace: bool) -> int:
    """A child's `main`; an exception is said as `<failed> <what>` and ends it with `code`
    at once (`os._exit`: PortAudio's own exit may hang on a vanished JACK server). `trace`:
    the traceback too, on stderr (when liveai keeps it)."""
    try:
        return main(argv)
    except Exception as exc:  # noqa: BLE001 (liveai reads the reason on stdout)
        if trace:
            traceback.print_exc()
        say(f"{failed} {type(exc).__name__}: {exc}")
        os._exit(code)
