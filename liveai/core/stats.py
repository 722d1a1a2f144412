"""Counters, event rates and latency percentiles for status and telemetry."""

from __future__ import annotations

from collections import Counter, deque

import numpy as np

_LATENCY_SAMPLES = 4096
# Always reported, so a client sees 0 rather than a missing key.
COUNTERS = (
    "events_in", "events_out", "errors", "malformed", "unknown_address", "bad_args",
    "dropped", "deadline_misses",
)


class Stats:
    def __init__(self, start: float, window_s: float = 10.0) -> None:
        self.start = start
        self.window_s = window_s
        self.counters: Counter[str] = Counter({name: 0 for name in COUNTERS})
        self._in_times: deque[float] = deque()
        self._out_times: deque[float] = deque()
        self._latencies: deque[tuple[float, float]] = deque(maxlen=_LATENCY_SAMPLES)

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] += n

    def event_in(self, now: float) -> None:
        self._in_times.append(now)
        self._trim(self._in_times, now)

    def event_out(self, now: float, origin: float | None) -> None:
        self._out_times.append(now)
        self._trim(self._out_times, now)
        if origin is not None:
            self._latencies.append((now, now - origin))

    def _trim(self, times: deque[float], now: float) -> None:
        while times and times[0] < now - self.window_s:
            times.popleft()

    def rate(self, times: deque[float], now: float) -> float:
        self._trim(times, now)
        return len(times) / min(self.window_s, max(now - self.start, 1e-3))

    def snapshot(self, now: float) -> dict[str, float | int]:
        recent = [lat for t, lat in self._latencies if t >= now - self.window_s]
        p50 = p99 = 0.0
        if recent:
            p50, p99 = (float(x) * 1000.0 for x in np.percentile(recent, [50, 99]))
        return {
            "uptime_s": round(now - self.start, 3),
            "events_in_per_s": round(self.rate(self._in_times, now), 3),
            "events_out_per_s": round(self.rate(self._out_times, now), 3),
            "latency_p50_ms": round(p50, 4),
            "latency_p99_ms": round(p99, 4),
            "latency_samples": len(recent),
            **{name: int(v) for name, v in sorted(self.counters.items())},
        }
