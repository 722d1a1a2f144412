"""Faults contained, one rule for every loop that runs items one by one (MIDI messages,
due timers, beats, a behaviour's calls, job replies, OSC and MQTT commands): an item
that raises is counted in `internal_errors`, logged with its traceback at most once a
second per place, and the loop goes on with the next item. One bug must never silence
an input, stop the clock or leave a note sounding.

A CommandError is not a fault: it is a client's mistake, refused where it is raised.
The loops catch it first, so it never reaches here.

At each place the rule is a plain `try`/`except Exception` around the item that calls
a `Faults` (Python 3.11's try costs nothing until something raises, and nothing is
allocated per item). Every owner of such loops holds one over the shared Stats: the
count is the Stats', the log's limit is per place.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from .stats import LogThrottle, Stats

log = logging.getLogger(__name__)


class Faults:
    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self._logs: dict[str, LogThrottle] = {}  # place -> its once-a-second log line

    def __call__(self, place: str, exc: Exception) -> None:
        """`exc` escaped one item at `place` ("a timer", "MIDI input"); the loop runs on."""
        self.stats.count("internal_errors")
        say = self._logs.get(place)
        if say is None:
            say = self._logs[place] = LogThrottle(log, "more", level=logging.ERROR)
        # the log's own clock: a line a second of real time, whatever the engine's clock
        say(time.monotonic(), "internal error in %s (the next one runs): %r", place, exc, exc_info=exc)

    def loop_exception(self, loop: Any, context: dict[str, Any]) -> None:
        """asyncio's exception handler: a callback the loop ran raised (a job's reply, a
        timetagged OSC message, a datagram); asyncio runs the next one, this counts it."""
        exc = context.get("exception")
        if not isinstance(exc, Exception):
            loop.default_exception_handler(context)  # not a fault of ours: asyncio says it
            return
        self("a loop callback", exc)  # the traceback names which
