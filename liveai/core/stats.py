"""Counters, event rates and latency percentiles for status and telemetry; a log line
for a repeated problem at most once per interval."""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Iterable

import numpy as np

_LATENCY_SAMPLES = 4096
_REFUSALS_KEPT = 16  # the last refused commands, with their reasons (the stage page shows them)
# Always reported, so a client sees 0 rather than a missing key.
COUNTERS = (
    "events_in",
    "events_out",
    "errors",
    "malformed",
    "too_large",
    "unknown_address",
    "bad_args",
    "bad_value",
    "busy",
    "osc_timetagged_dropped",
    "midi_in_dropped",
    "midi_out_dropped",
    "mqtt_outbox_dropped",
    "deadline_misses",
    "sessions_evicted",
    "sessions_refused",
    "datagrams_in",
    "messages_in",
    "errors_unanswered",
    "subscribe_refused",
    "subscribers_replaced",
    "send_errors",
    "midi_ignored",
    "midi_hung",
    "mqtt_retained_ignored",
    "mqtt_discovery_sent",
    "mqtt_discovery_removed",
    "mqtt_discovery_throttled",
    "stale_at_start",
    "web_refused",
    "web_clients_refused",
    "web_clients_dropped",
    "mdns_failed",
    "learn_failed",
    "recorded_failed",
    # a bug contained (core/faults.py); a command's is answered `internal`, counted only here
    "internal_errors",
)


def percentiles_ms(seconds: Iterable[float], qs: Iterable[float] = (50, 99)) -> list[float]:
    """Percentiles of durations in seconds, in milliseconds (0.0 each when empty)."""
    samples = np.fromiter(seconds, dtype=np.float64)
    qs = list(qs)
    if samples.size == 0:
        return [0.0] * len(qs)
    return [float(x) for x in np.percentile(samples * 1000.0, qs)]


class Stats:
    def __init__(self, start: float, window_s: float = 10.0) -> None:
        self.start = start
        self.window_s = window_s
        self.counters: Counter[str] = Counter({name: 0 for name in COUNTERS})
        self._in_times: deque[float] = deque()
        self._out_times: deque[float] = deque()
        self._latencies: deque[tuple[float, float]] = deque(maxlen=_LATENCY_SAMPLES)
        # (time, source, code, message) of the last refusals, newest last
        self.refusals: deque[tuple[float, str, str, str]] = deque(maxlen=_REFUSALS_KEPT)

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] += n

    def refused(self, now: float, source: str, code: str, message: str) -> None:
        """A client's command refused (OSC, MQTT, the page): counted in `errors` and its
        code, and kept with its reason among the last few."""
        self.count("errors")
        self.count(code)
        self.refusals.append((now, source, code, message[:200]))

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

    def recent_latencies(self, now: float) -> list[float]:
        """Arrival to send of the answers within the window, in seconds."""
        return [lat for t, lat in self._latencies if t >= now - self.window_s]

    def latency_histogram(self, now: float, edges_ms: list[float]) -> list[int]:
        """How many recent answers took each span between `edges_ms` (the last is open)."""
        counts = np.histogram(
            np.fromiter(self.recent_latencies(now), dtype=np.float64) * 1000.0, bins=[*edges_ms, np.inf]
        )[0]
        return [int(c) for c in counts]

    def snapshot(self, now: float) -> dict[str, float | int]:
        recent = self.recent_latencies(now)
        p50, p99 = percentiles_ms(recent)
        return {
            "uptime_s": round(now - self.start, 3),
            "events_in_per_s": round(self.rate(self._in_times, now), 3),
            "events_out_per_s": round(self.rate(self._out_times, now), 3),
            "latency_p50_ms": round(p50, 4),
            "latency_p99_ms": round(p99, 4),
            "latency_samples": len(recent),
            **{name: int(v) for name, v in sorted(self.counters.items())},
        }


class LogThrottle:
    """The one way liveai says a problem that may repeat (a miss per note under overload,
    a retry per second while a broker is away): at most once per `interval_s` at `level`,
    saying how many were held back since the last line, because a line per note would cost
    the loop more than the problem. The repeats in between go at `repeats` (DEBUG: seen
    with -v) or nowhere (None). A call may name its `problem`: one other than the last
    named is new, said at once; and count an `amount` (messages in one report, say) for
    the held-back sum."""

    def __init__(
        self,
        logger: logging.Logger,
        noun: str,
        interval_s: float = 1.0,
        level: int = logging.INFO,
        repeats: int | None = None,
    ) -> None:
        self.logger = logger
        self.noun = noun  # "(12 misses since the last report)"
        self.interval_s = interval_s
        self.level = level
        self.repeats = repeats
        self._unlogged = 0
        self._logged_at = float("-inf")
        self._problem: str | None = None  # the last problem named

    def __call__(
        self,
        now: float,
        message: str,
        *args: object,
        problem: str | None = None,
        amount: int = 1,
        exc_info: BaseException | None = None,
    ) -> bool:
        """Say this one or hold it back; True when it was said at `level`."""
        if problem is not None and problem != self._problem:
            self.reset()
            self._problem = problem
        if now - self._logged_at < self.interval_s:
            self._unlogged += amount
            if self.repeats is not None:
                self.logger.log(self.repeats, message, *args, exc_info=exc_info)
            return False
        if self._unlogged:  # those held back, not this one
            message += f" ({self._unlogged} {self.noun} since the last report)"
        self.logger.log(self.level, message, *args, exc_info=exc_info)
        self._unlogged, self._logged_at = 0, now
        return True

    def reset(self) -> None:
        """The next one is said at once, as a new problem (another outage, say)."""
        self._unlogged, self._logged_at, self._problem = 0, float("-inf"), None


class RateLimit:
    """At most `per_s` events a second for each key (a sending host, say), over a
    one-second window; `max_keys` bounds the memory a flood of keys can take."""

    def __init__(self, per_s: float, max_keys: int = 4096) -> None:
        self.per_s = per_s
        self.max_keys = max_keys
        self._windows: dict[str, tuple[float, float]] = {}  # key -> (window start, count)

    def allow(self, key: str, now: float) -> bool:
        start, count = self._windows.get(key, (now, 0.0))
        if now - start >= 1.0:
            start, count = now, 0.0
        if count >= self.per_s:
            self._windows[key] = (start, count)
            return False
        if key not in self._windows and len(self._windows) >= self.max_keys:
            self._windows = {k: w for k, w in self._windows.items() if now - w[0] < 1.0}
            if len(self._windows) >= self.max_keys:
                return False  # more senders this second than the table holds
        self._windows[key] = (start, count + 1)
        return True
