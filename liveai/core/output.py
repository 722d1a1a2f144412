"""Where every outgoing event goes: now to the sinks (one per transport), or later
through the scheduler, which a driver (the server's loop timer, or a test) runs.

Every note leaving liveai passes the NoteTracker with its owner (who holds it), so a
re-strike never stacks a voice and stop, mode change, panic, input loss and shutdown
can silence everything that sounds. The channels liveai has played on are kept for
the panic.

A sink may have a lead (`add_sink`): the latency of what it feeds (a synth's buffer).
A scheduled event reaches it that much before the event's time, so it sounds on time;
the event is decided (tracker, owner) when it first leaves, for the sink with the
largest lead, and reaches each other sink at its own time. What is sent now cannot be
sent early. Without leads nothing of this runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable
from typing import Any, Protocol

from ..events import ControlChange, Event, NoteOff, NoteOn
from .faults import Faults
from .notes import NoteTracker
from .scheduler import Scheduler
from .stats import Stats

Sink = Callable[[Event], None]


class Timer:
    """A callback at a time on the scheduler (no sleeping anywhere). A `precise` one
    (a beat) asks the driver to be woken at its time to the tenth of a millisecond,
    not the loop's whole milliseconds (see liveai.server)."""

    __slots__ = ("fn", "cancelled", "precise")

    def __init__(self, fn: Callable[[], None], precise: bool = False) -> None:
        self.fn = fn
        self.cancelled = False
        self.precise = precise

    def cancel(self) -> None:
        self.cancelled = True


# What a panic sends on every channel, in this order (mido's panic and reset messages):
# sustain pedal up, all sound off, all notes off.
SILENCE_CONTROLLERS = ((64, 0), (120, 0), (123, 0))
_MADE = itertools.count()


class _Owned:
    """A scheduled event its owner (a response, the autopilot) holds and may take back."""

    __slots__ = ("event", "owner")

    def __init__(self, event: Event, owner: object) -> None:
        self.event = event
        self.owner = owner


class _Delivery:
    """A decided event on its way to the sinks of one lead, at `at`: the event's time less
    that lead; `n` orders deliveries made for one time as the queue does."""

    __slots__ = ("event", "sinks", "owner", "at", "n")

    def __init__(self, event: Event, sinks: list[Sink], owner: object, at: float) -> None:
        self.event = event
        self.sinks = sinks
        self.owner = owner
        self.at = at
        self.n = next(_MADE)


class PlanWatch(Protocol):
    """Who watches the plan: notes scheduled for later (`planned`, as they are queued) and
    those taken back before they sounded (`withdrawn`: a player barging in, stop, panic)."""

    def planned(self, event: NoteOn | NoteOff) -> None: ...
    def withdrawn(self, events: list[NoteOn | NoteOff]) -> None: ...


class Output:
    def __init__(self, now: Callable[[], float], stats: Stats, faults: Faults) -> None:
        self.now = now
        self.stats = stats
        self.faults = faults
        self.sinks: list[Sink] = []
        self.lead = 0.0  # the largest lead of a sink, in seconds
        self._leads: dict[Sink, float] = {}
        # Note-ons decided but not yet delivered to the sinks of a smaller lead, by (channel,
        # pitch): a note-off sent now stops them (an off never reaches a sink before its on).
        self._waiting: dict[tuple[int, int], list[_Delivery]] = {}
        # Note-offs decided but not yet delivered, by (channel, pitch): a note-on sent now
        # takes them along first, or they would cut it where the old note still sounds.
        self._leaving: dict[tuple[int, int], list[_Delivery]] = {}
        self.tracker = NoteTracker()
        self.scheduler = Scheduler()
        # Called with the new earliest time when the scheduler's head changes.
        self.on_reschedule: Callable[[float], None] = lambda at: None
        # The stage page's view of the plan; None (no page) costs one test per note scheduled.
        self.watch: PlanWatch | None = None

    def add_sink(self, sink: Sink, lead_s: float = 0.0) -> None:
        """A sink that scheduled events reach `lead_s` before their time."""
        self.sinks.append(sink)
        if lead_s > 0:
            self._leads[sink] = lead_s
            self.lead = max(self._leads.values())
            self.emit = self._emit_cutting  # without leads, `emit` does nothing more per event

    def send(self, event: Event, owner: Hashable | None = None) -> None:
        """Send one event to every sink now. A note is held by `owner` (by default the
        note itself): its note-off goes out when no owner holds it any more."""
        for out in self._decide(event, owner):
            self.emit(out)

    def _decide(self, event: Event, owner: Hashable | None) -> tuple[Event, ...]:
        """What leaves for `event`, after the tracker: nothing (a note another owner still
        holds), the event, or a re-strike's note-off and then the note."""
        match event:
            case NoteOn(velocity=0):
                return self._decide(as_off(event), owner)
            case NoteOn():
                if self.tracker.note_on(event.channel, event.pitch, owner):  # a re-strike
                    return (NoteOff(event.pitch, event.channel, t=event.t, origin=event.origin), event)
            case NoteOff():
                if not self.tracker.note_off(event.channel, event.pitch, owner):
                    return ()
        return (event,)

    def emit(self, event: Event) -> None:
        """To every sink, bypassing the tracker (what the tracker itself releases)."""
        self._to(self.sinks, event)
        # Measured after the sinks ran: arrival to the bytes leaving liveai.
        self.stats.count("events_out")
        self.stats.event_out(self.now(), event.origin)

    def _to(self, sinks: list[Sink], event: Event) -> None:
        for sink in sinks:
            try:
                sink(event)
            except Exception as exc:  # the other sinks still hear it (a note-off above all)
                self.faults("an output sink", exc)

    def schedule(self, event: Event, owner: Hashable | None = None) -> None:
        """Send `event` at its time `event.t` (now if that has passed); `owner` holds
        the note and can take back what it scheduled (`unschedule`)."""
        if event.t <= self.now():
            self.send(event, owner)
            return
        if self.lead and event.t - self.lead <= self.now():  # a sink's lead has begun
            self._send_early(event, owner)
        else:
            self._push(event.t - self.lead, event if owner is None else _Owned(event, owner))
        if self.watch is not None and isinstance(event, (NoteOn, NoteOff)):
            try:
                self.watch.planned(event)
            except Exception as exc:  # a page's bug never unplans the music
                self.faults("the plan's watch", exc)

    def unschedule(self, owner: object, on_the_way: bool = False) -> list[Any]:
        """Take back what `owner` scheduled, returning those events (in no set order);
        `on_the_way` also what already left for the sinks of a larger lead (the clock at a
        stop; never notes: their offs would be lost)."""
        if on_the_way:
            return self._withdraw(lambda item: isinstance(item, (_Owned, _Delivery)) and item.owner is owner)
        return self._withdraw(lambda item: isinstance(item, _Owned) and item.owner is owner)

    def _withdraw(self, predicate: Callable[[Any], bool]) -> list[Any]:
        """Take queued items off the scheduler, returning their events; the watch hears
        which notes went."""
        taken: list[Any] = []

        def take(item: Any) -> bool:
            if predicate(item):
                taken.append(item.event if isinstance(item, (_Owned, _Delivery)) else item)
                return True
            return False

        self.scheduler.remove_if(take)
        gone = [event for event in taken if isinstance(event, (NoteOn, NoteOff))]
        if gone and self.watch is not None:
            try:
                self.watch.withdrawn(gone)
            except Exception as exc:  # a panic's note-offs still follow
                self.faults("the plan's watch", exc)
        return taken

    def plan(self) -> list[NoteOn | NoteOff]:
        """The notes the scheduler holds, earliest first."""
        events = (item.event if isinstance(item, _Owned) else item for _, item in self.scheduler.items())
        return [e for e in events if isinstance(e, (NoteOn, NoteOff))]

    def call_at(self, at: float, fn: Callable[[], None], precise: bool = False) -> Timer:
        timer = Timer(fn, precise)
        self._push(at, timer)
        return timer

    def precise_next(self) -> bool:
        """Whether the earliest item is a precise timer."""
        first = self.scheduler.first()
        return isinstance(first, Timer) and first.precise and not first.cancelled

    def drop(self, timer: Timer) -> None:
        """Cancel a timer and take it off the queue at once (it counts as scheduled)."""
        timer.cancel()
        self.scheduler.remove_if(lambda item: item is timer)

    def _push(self, at: float, item: Any) -> None:
        if self.scheduler.push(at, item):
            self.on_reschedule(at)

    # -- leads -------------------------------------------------------------------------
    def _send_early(self, event: Event, owner: Hashable | None) -> None:
        """`send` for a scheduled event leaving ahead of its time: decided now, each sink
        reached at the event's time less its lead."""
        for out in self._decide(event, owner):
            self._spread(out, owner)

    def _spread(self, event: Event, owner: object = None) -> None:
        now = self.now()
        if (self._waiting or self._leaving) and isinstance(event, (NoteOn, NoteOff)):
            self._due_first(event, now)
        later: dict[float, list[Sink]] = {}
        for sink in self.sinks:
            at = event.t - self._leads.get(sink, 0.0)
            if at <= now:
                self._to([sink], event)
            else:
                later.setdefault(at, []).append(sink)
        for at, sinks in later.items():
            delivery = _Delivery(event, sinks, owner, at)
            if isinstance(event, NoteOn):
                self._waiting.setdefault((event.channel, event.pitch), []).append(delivery)
            elif isinstance(event, NoteOff):
                self._leaving.setdefault((event.channel, event.pitch), []).append(delivery)
            self._push(at, delivery)
        self.stats.count("events_out")
        self.stats.event_out(now, event.origin)

    def _due_first(self, event: NoteOn | NoteOff, now: float) -> None:
        """The notes of `event`'s key still queued whose time at their sinks has come go
        first, in the queue's order: after a stall the note decided now would pass them (a
        short note's off its on, a repeated note's on the last one's off)."""
        key = (event.channel, event.pitch)
        due = [
            d for d in (*self._waiting.get(key, ()), *self._leaving.get(key, ())) if d.sinks and d.at <= now
        ]
        for delivery in sorted(due, key=lambda d: (d.at, d.n)):
            self._deliver(delivery)
            delivery.sinks = []  # its turn on the queue comes to nothing

    def _deliver(self, delivery: _Delivery) -> None:
        event = delivery.event
        if isinstance(event, NoteOn):
            waiting = self._waiting.get((event.channel, event.pitch), [])
            if delivery not in waiting:
                return  # stopped by a note-off sent meanwhile
            waiting.remove(delivery)
            if not waiting:
                del self._waiting[(event.channel, event.pitch)]
        elif isinstance(event, NoteOff) and delivery.sinks:  # not taken along by a note-on
            leaving = self._leaving[(event.channel, event.pitch)]
            leaving.remove(delivery)
            if not leaving:
                del self._leaving[(event.channel, event.pitch)]
        self._to(delivery.sinks, event)

    def _emit_cutting(self, event: Event) -> None:
        """`emit` with leads: a note-off sent now stops its note-on still on its way to the
        sinks of a smaller lead (they never get it); a note-on sent now first takes along
        the note-offs on their way for its key (they would cut it)."""
        if self._waiting and isinstance(event, NoteOff):
            self._waiting.pop((event.channel, event.pitch), None)
        elif self._leaving and isinstance(event, NoteOn):
            for delivery in self._leaving.pop((event.channel, event.pitch), ()):
                self._to(delivery.sinks, delivery.event)
                delivery.sinks = []  # its own time comes to nothing
        Output.emit(self, event)

    def run_due(self) -> float | None:
        """Send everything due, run due timers; return the next target time. One item
        that fails is contained: the notes due behind it still go out."""
        for _, item in self.scheduler.pop_due(self.now()):
            try:
                if isinstance(item, Timer):
                    if not item.cancelled:
                        item.fn()
                elif isinstance(item, _Delivery):
                    self._deliver(item)
                elif isinstance(item, _Owned):
                    (self._send_early if self.lead else self.send)(item.event, item.owner)
                else:
                    (self._send_early if self.lead else self.send)(item)
            except Exception as exc:
                self.faults("a timer" if isinstance(item, Timer) else "a scheduled event", exc)
        return self.scheduler.next_time()

    def silence_channels(self) -> None:
        """Pedal up, all sound off, all notes off on all 16 channels: also for notes
        liveai never saw (a synth's hang, a sustain another tool left down)."""
        for channel in range(16):
            for controller, value in SILENCE_CONTROLLERS:
                self.emit(ControlChange(controller, value, channel, t=self.now()))

    def drop_queued_notes(self) -> None:
        """Every note not yet sent, also a note-on on its way to a sink of a smaller lead (a
        panic: all notes off follows). A note-off on its way goes to its sinks now: the
        tracker let go of its note when it left, so the panic's release would not cover it."""
        on_its_way = [item for _, item in self.scheduler.items() if _delivered_note(item)]
        self._waiting.clear()
        self._leaving.clear()
        self._withdraw(lambda item: isinstance(_event(item), (NoteOn, NoteOff)) and not _delivered_off(item))
        self.scheduler.remove_if(_delivered_off)
        cut: set[tuple[Sink, int, int]] = set()  # sinks whose note-on was dropped, by note
        for delivery in on_its_way:  # earliest first: a note-on dropped takes its off along
            event = delivery.event
            keys = [(sink, event.channel, event.pitch) for sink in delivery.sinks]
            if isinstance(event, NoteOn):
                cut.update(keys)
                continue
            self._to([key[0] for key in keys if key not in cut], event)
            cut.difference_update(keys)

    def release_tracked(self, origin: float | None = None) -> None:
        """A note-off for whatever still sounds (overlapping voices, notes already out)."""
        for channel, pitch in self.tracker.release_all():
            self.emit(NoteOff(pitch, channel, origin=origin, t=self.now()))


def _delivered_note(item: Any) -> bool:
    return isinstance(item, _Delivery) and isinstance(item.event, (NoteOn, NoteOff))


def _delivered_off(item: Any) -> bool:
    return isinstance(item, _Delivery) and isinstance(item.event, NoteOff)


def _event(item: Any) -> Any:
    return item.event if isinstance(item, (_Owned, _Delivery)) else item


def as_off(event: NoteOn) -> NoteOff:
    return NoteOff(event.pitch, event.channel, t=event.t, origin=event.origin, source=event.source)
