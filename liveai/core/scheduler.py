"""A time-ordered queue of outgoing events; a driver fires them at their target time.

The scheduler never sleeps: the asyncio driver (liveai.server) asks `next_time()`,
sets one timer for it, and calls `pop_due(now)` when the timer fires. Tests drive it
with a fake clock.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Any


class Scheduler:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Any]] = []
        self._order = itertools.count()  # equal times keep insertion order

    def push(self, at: float, item: Any) -> bool:
        """Queue `item` for time `at`; True when it became the earliest item."""
        heapq.heappush(self._heap, (at, next(self._order), item))
        return self._heap[0][2] is item

    def next_time(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def first(self) -> Any:
        """The earliest item (None when empty)."""
        return self._heap[0][2] if self._heap else None

    def pop_due(self, now: float) -> list[tuple[float, Any]]:
        due = []
        while self._heap and self._heap[0][0] <= now:
            at, _, item = heapq.heappop(self._heap)
            due.append((at, item))
        return due

    def remove_if(self, predicate: Any) -> int:
        """Drop queued items matching `predicate` (e.g. a cancelled response)."""
        kept = [entry for entry in self._heap if not predicate(entry[2])]
        removed = len(self._heap) - len(kept)
        if removed:
            heapq.heapify(kept)
            self._heap = kept
        return removed

    def items(self) -> list[tuple[float, Any]]:
        """What is queued, as (time, item), in time order."""
        return [(at, item) for at, _, item in sorted(self._heap, key=lambda entry: entry[:2])]

    def __len__(self) -> int:
        return len(self._heap)
