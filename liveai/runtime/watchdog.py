"""systemd's watchdog: `WATCHDOG=1` every half `WatchdogSec`, from the event loop, and
only while every part liveai watches has shown life within `WatchdogSec`.

- The loop shows life by running the tick at all: a loop that hangs sends nothing.
- The model worker, by answering a probe: a no-op call in a session of its own, submitted
  again once the last is answered. A worker stuck in a job never takes it.
- The synth's render process (with `audio.enabled`), by the time it stamps in the ring's
  header at every turn (`SynthLink.render_seen`).

A part silent for longer is named in the log, once per outage, and each tick held back is
counted in `withheld`: systemd, hearing nothing for `WatchdogSec`, restarts liveai.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from ..core.stats import LogThrottle
from .systemd import Notifier

if TYPE_CHECKING:  # the worker brings torch, which a server without a model never loads
    from .worker import Worker

log = logging.getLogger(__name__)

# A part's latest sign of life (time.monotonic()) at `now`; None: nothing of it to watch now.
Part = Callable[[float], float | None]
PROBE_SESSION = "watchdog"


class WorkerProbe:
    """The worker's part: when it last ran a probe, a no-op call sent at a tick once the
    last one was answered (one refused, its inbox full, is sent again at the next)."""

    def __init__(self, worker: Worker, clock: Callable[[], float] = time.monotonic) -> None:
        self.worker, self.clock = worker, clock
        self.seen = clock()  # it started (and warmed up) just before
        self.future: Future[Any] | None = None

    def _answer(self) -> None:
        self.seen = self.clock()  # on the worker's thread, in its turn

    def __call__(self, now: float) -> float:
        if self.future is None or self.future.done():
            self.future = self.worker.submit(PROBE_SESSION, self._answer)
        return self.seen


class Watchdog:
    def __init__(self, notifier: Notifier, interval_s: float, parts: dict[str, Part]) -> None:
        self.notifier, self.interval_s, self.parts = notifier, interval_s, parts
        self.pings = 0
        self.withheld = 0  # ticks that sent nothing: a part was silent
        self._say = LogThrottle(log, "more ticks withheld", interval_s=60.0, level=logging.ERROR)
        self._silent = False

    def tick(self, now: float) -> bool:
        """Ping, if every part showed life within the interval; True when it did."""
        silent = []
        for name, part in self.parts.items():
            seen = part(now)
            if seen is not None and now - seen > self.interval_s:
                silent.append(f"{name} ({now - seen:.1f} s)")
        if silent:
            self.withheld += 1
            self._silent = True
            self._say(now, "no ping to systemd's watchdog: silent: %s", ", ".join(silent))
            return False
        if self._silent:
            self._silent = False
            log.info("every part shows life again: pinging systemd's watchdog")
            self._say.reset()  # the next outage is said at once
        if self.notifier.send("WATCHDOG=1"):
            self.pings += 1
        return True

    async def run(self, clock: Callable[[], float] = time.monotonic) -> None:
        while True:
            self.tick(clock())
            await asyncio.sleep(self.interval_s / 2)

    def status(self) -> dict[str, int]:
        return {"watchdog_pings": self.pings, "watchdog_withheld": self.withheld}
