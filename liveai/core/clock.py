"""Musical time: an internal tempo, the tempo of incoming MIDI clock (24 PPQN), or a
shared timeline liveai joined (Ableton Link: `transports/link.py`)."""

from __future__ import annotations

import math
from collections import deque
from typing import Protocol

from ..config.types import TEMPO

PPQN = 24
# Ticks further apart than this mean the sender paused; the estimate starts over.
_MAX_TICK_GAP_S = 0.5
# MIDI clock counts as "arriving" while ticks are at most this old.
_FOLLOW_TIMEOUT_S = 0.5


class Timeline(Protocol):
    """A beat timeline shared with peers (Link's session), read in liveai's time."""

    quantum: float  # beats per bar: the phase peers agree on

    def peers(self) -> int: ...
    def tempo(self) -> float: ...
    def beat_at(self, t: float) -> float: ...
    def time_at(self, beat: float) -> float: ...
    def propose_tempo(self, bpm: float) -> None: ...
    def propose_playing(self, playing: bool) -> None: ...


class Clock:
    def __init__(self, bpm: float, source: str = "auto") -> None:
        self.internal_bpm = bpm
        self.source = source  # "internal", "midi", "link" or "auto"
        self.timeline: Timeline | None = None  # the Link session, once joined
        self.link_origin = 0.0  # the timeline's beat at this run's pulse 0 (a bar line)
        self.playing = False
        self.ticks = 0  # pulses since start, whoever drives them
        self.starts = 0  # how often the transport was started: beat numbers count from the latest
        self._tick_times: deque[float] = deque(maxlen=2 * PPQN + 1)  # two beats
        self._last_tick: float | None = None
        self.last_beat: tuple[int, float] | None = None  # (number, time) of the latest beat while playing

    # -- tempo -------------------------------------------------------------
    def linked(self) -> bool:
        """True while the pulses follow the shared timeline: always with "link", with
        "auto" while it has peers (alone, liveai keeps its own tempo); never while the
        session's tempo is outside liveai's range (its own tempo goes on meanwhile)."""
        if self.timeline is None:
            return False
        joined = self.source == "link" or (self.source == "auto" and self.timeline.peers() > 0)
        return joined and self.timeline.tempo() in TEMPO

    def following(self, now: float) -> bool:
        """True while liveai follows incoming MIDI clock rather than its own tempo."""
        if self.source in ("internal", "link"):
            return False
        if self.source == "midi":
            return True
        if self.linked():
            return False
        return self._last_tick is not None and now - self._last_tick < _FOLLOW_TIMEOUT_S

    def name(self, now: float) -> str:
        """Who keeps time now: "link", "midi" or "internal"."""
        return "link" if self.linked() else "midi" if self.following(now) else "internal"

    def bpm(self, now: float) -> float:
        """The tempo: the internal one, the timeline's, or incoming clock's, within the
        tempo range (a sender's burst of ticks must not make the beat run away)."""
        if self.timeline is not None and self.linked():
            return TEMPO.fit(self.timeline.tempo())
        if self.following(now) and len(self._tick_times) >= 2:
            period = _tick_period(self._tick_times)
            if period > 0:
                return TEMPO.fit(60.0 / (period * PPQN))
        return self.internal_bpm

    def tick_period(self, now: float) -> float:
        return 60.0 / (self.bpm(now) * PPQN)

    def predict(self, pulses: int, at: float) -> float:
        """When the pulse `pulses` after the one at `at` is due. Following MIDI clock,
        from the line fitted to the recent ticks, so one tick's jitter does not move
        the plan; otherwise from `at` at the current tempo."""
        if self.following(at) and len(self._tick_times) >= 2 and self._tick_times[-1] == at:
            fitted = _fitted_last(self._tick_times, _tick_period(self._tick_times))
            return fitted + pulses * self.tick_period(at)
        return at + pulses * self.tick_period(at)

    # -- the shared timeline ------------------------------------------------
    def pulse_time(self, index: int) -> float:
        """When the pulse `index` of this run falls on the timeline (while linked)."""
        assert self.timeline is not None
        return self.timeline.time_at(self.link_origin + index / PPQN)

    def next_pulse(self, at: float) -> int:
        """The index of the first pulse of this run after the timeline's beat at `at`."""
        assert self.timeline is not None
        # the pulse at `at` itself reads a hair under its beat: it is not "after"
        return math.floor((self.timeline.beat_at(at) - self.link_origin) * PPQN + 1e-6) + 1

    def anchor(self, at: float, bars: int | None) -> None:
        """Put this run's pulse 0 on a bar line of the timeline: `bars` bars before the
        bar that holds `at`, or (None) on the next bar line from `at`, where a start waits."""
        assert self.timeline is not None
        q = self.timeline.quantum
        bar = self.timeline.beat_at(at) / q
        self.link_origin = (math.ceil(bar - 1e-9) if bars is None else math.floor(bar) - bars) * q

    # -- incoming MIDI clock -----------------------------------------------
    def midi_tick(self, t: float) -> int | None:
        """Record one incoming pulse; return the beat number when a beat begins."""
        if self.source in ("internal", "link") or self.linked():
            return None
        if self._last_tick is not None and t - self._last_tick > _MAX_TICK_GAP_S:
            self._tick_times.clear()
        self._tick_times.append(t)
        self._last_tick = t
        return self.advance() if self.playing else None

    # -- transport -----------------------------------------------------------
    def start(self) -> None:
        self.playing = True
        self.ticks = 0
        self.starts += 1
        self.last_beat = None

    def resume(self) -> None:
        self.playing = True

    def stop(self) -> None:
        self.playing = False
        self.last_beat = None

    def mark_beat(self, n: int, t: float) -> None:
        """Beat `n` of the running transport began at `t` (where bar lines are)."""
        self.last_beat = (n, t)

    def advance(self) -> int | None:
        """Count one pulse of the running transport; the beat number on a beat."""
        beat = self.ticks // PPQN if self.ticks % PPQN == 0 else None
        self.ticks += 1
        return beat


def _fitted_last(times: deque[float], period: float) -> float:
    """Where the line through the ticks' mean with slope `period` puts the latest tick."""
    n = len(times)
    return sum(times) / n + (n - 1) / 2 * period


def _tick_period(times: deque[float]) -> float:
    """Least-squares slope of tick time against tick number: one late tick (a busy
    sender, a jittery cable) moves it far less than the first-to-last span would."""
    n = len(times)
    mean_i = (n - 1) / 2
    mean_t = sum(times) / n
    num = sum((i - mean_i) * (t - mean_t) for i, t in enumerate(times))
    den = sum((i - mean_i) ** 2 for i in range(n))
    return num / den
