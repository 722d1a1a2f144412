"""Where every outgoing event goes: now to the sinks (one per transport), or later
through the scheduler, which a driver (the server's loop timer, or a test) runs.

Every note leaving liveai passes the NoteTracker, so stop, mode change, panic, input
loss and shutdown can silence everything that sounds.
"""

from __future__ import annotations

from typing import Any, Callable

from ..events import Event, NoteOff, NoteOn
from .notes import NoteTracker
from .scheduler import Scheduler
from .stats import Stats

Sink = Callable[[Event], None]


class Timer:
    """A callback at a time on the scheduler (no sleeping anywhere)."""

    __slots__ = ("fn", "cancelled")

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class _Owned:
    """A scheduled event its owner (a response, the autopilot) may take back."""

    __slots__ = ("event", "owner")

    def __init__(self, event: Event, owner: object) -> None:
        self.event = event
        self.owner = owner


class Output:
    def __init__(self, now: Callable[[], float], stats: Stats) -> None:
        self.now = now
        self.stats = stats
        self.sinks: list[Sink] = []
        self.tracker = NoteTracker()
        self.scheduler = Scheduler()
        # Called with the new earliest time when the scheduler's head changes.
        self.on_reschedule: Callable[[float], None] = lambda at: None

    def send(self, event: Event) -> None:
        """Send one event to every sink now, keeping the note tracker right."""
        match event:
            case NoteOn(velocity=0):
                return self.send(as_off(event))
            case NoteOn():
                self.tracker.note_on(event.channel, event.pitch)
            case NoteOff():
                if not self.tracker.note_off(event.channel, event.pitch):
                    return
        self.emit(event)

    def emit(self, event: Event) -> None:
        """To every sink, bypassing the tracker (what the tracker itself releases)."""
        for sink in self.sinks:
            sink(event)
        # Measured after the sinks ran: arrival to the bytes leaving liveai.
        self.stats.count("events_out")
        self.stats.event_out(self.now(), event.origin)

    def schedule(self, event: Event, owner: object | None = None) -> None:
        """Send `event` at its time `event.t` (now if that has passed)."""
        if event.t <= self.now():
            self.send(event)
        else:
            self._push(event.t, event if owner is None else _Owned(event, owner))

    def unschedule(self, owner: object) -> int:
        return self.scheduler.remove_if(lambda item: isinstance(item, _Owned) and item.owner is owner)

    def call_at(self, at: float, fn: Callable[[], None]) -> Timer:
        timer = Timer(fn)
        self._push(at, timer)
        return timer

    def drop(self, timer: Timer) -> None:
        """Cancel a timer and take it off the queue at once (it counts as scheduled)."""
        timer.cancel()
        self.scheduler.remove_if(lambda item: item is timer)

    def _push(self, at: float, item: Any) -> None:
        if self.scheduler.push(at, item):
            self.on_reschedule(at)

    def run_due(self) -> float | None:
        """Send everything due, run due timers; return the next target time."""
        for _, item in self.scheduler.pop_due(self.now()):
            if isinstance(item, Timer):
                if not item.cancelled:
                    item.fn()
            elif isinstance(item, _Owned):
                self.send(item.event)
            else:
                self.send(item)
        return self.scheduler.next_time()

    def drop_queued_notes(self) -> None:
        self.scheduler.remove_if(lambda item: isinstance(item, (NoteOn, NoteOff, _Owned)))

    def release_tracked(self, origin: float | None = None) -> None:
        """A note-off for whatever still sounds (overlapping voices, notes already out)."""
        for channel, pitch in self.tracker.release_all():
            self.emit(NoteOff(pitch, channel, origin=origin, t=self.now()))


def as_off(event: NoteOn) -> NoteOff:
    return NoteOff(event.pitch, event.channel, t=event.t, origin=event.origin, source=event.source)
