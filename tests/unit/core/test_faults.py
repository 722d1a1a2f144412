"""Faults contained (core/faults.py): in every loop that runs items one by one, an item
that raises is counted in `internal_errors`, logged at most once a second per place,
and the next item runs. Here: the scheduler's due items, the output's sinks, the
clock's pulses, each call into a behaviour, and the loop's own callbacks."""

from __future__ import annotations

import asyncio
import logging

from fakes import make_engine, run_until

from liveai.config import Config
from liveai.core.conductor import Conductor
from liveai.core.faults import Faults
from liveai.core.state import State
from liveai.core.stats import Stats
from liveai.events import Beat, ControlChange, NoteOff, NoteOn


class Bug(Exception):
    pass


def boom(*args: object) -> None:
    raise Bug("an injected fault")


def test_a_failing_timer_drops_none_of_the_notes_due_with_it():
    engine, clock, sink = make_engine()
    out = engine.output
    due = clock.t + 0.5
    out.send(NoteOn(60, 100, t=clock.t))
    out.send(NoteOn(64, 100, t=clock.t))
    out.call_at(due, boom)  # due first, in the same batch as both note-offs
    out.schedule(NoteOff(60, t=due))
    out.call_at(due, boom)
    out.schedule(NoteOff(64, t=due))
    clock.t = due
    assert out.run_due() is None  # the whole batch ran; nothing is left
    assert sink.sounding() == set()
    assert engine.status()["internal_errors"] == 2


def test_a_failing_sink_does_not_keep_the_note_from_the_others():
    engine, clock, sink = make_engine()
    engine.output.sinks.insert(0, boom)
    engine.output.send(NoteOn(60, 100, t=clock.t))
    engine.output.send(NoteOff(60, t=clock.t))
    assert [type(e) for e in sink.events()] == [NoteOn, NoteOff]
    assert engine.stats.counters["internal_errors"] == 2


def test_the_clock_survives_a_beat_callback_that_raises():
    """Even uncontained by the sessions, a raising beat cannot stop the pulses: the next
    one is on the scheduler before the beat runs."""
    engine, clock, sink = make_engine()
    beats: list[int] = []

    def beat(n: int, t: float) -> None:
        beats.append(n)
        raise Bug("beat")

    conductor = Conductor(Config(), engine.output, State({}, engine.output.send, clock), beat)
    conductor.play()
    run_until(engine, clock, clock.t + 2.05)  # 120 BPM: beats 0..4
    assert beats == [0, 1, 2, 3, 4]
    assert engine.stats.counters["internal_errors"] == 5


def test_a_behaviour_that_raises_on_the_beat_leaves_the_beat_going():
    config = Config()
    config.server.sessions = "per_source"
    engine, clock, sink = make_engine(config)
    broken = engine.sessions.get("osc:10.0.0.1:1")
    healthy = engine.sessions.get("osc:10.0.0.2:1")
    broken.behaviour.beat = boom  # type: ignore[method-assign]
    heard: list[int] = []
    healthy.behaviour.beat = lambda n, t: heard.append(n)  # type: ignore[method-assign]
    engine.play()
    run_until(engine, clock, clock.t + 2.05)
    assert [e.n for e in sink.events() if isinstance(e, Beat)] == [0, 1, 2, 3, 4]
    assert heard == [0, 1, 2, 3, 4]  # the session after the broken one hears every beat
    assert engine.stats.counters["internal_errors"] == 5


def test_a_pedal_lifted_through_a_failing_behaviour_still_ends_the_notes_it_held():
    """Thru echoes the pedal, then raises: the session still lifts its pedal and the
    keys it held end, each even when the first of them fails too."""
    config = Config()
    config.server.mode = "thru"
    engine, clock, sink = make_engine(config)
    session = engine.sessions.get()
    thru = session.behaviour
    control, note_off = thru.control, thru.note_off

    def control_then_fail(event):
        control(event)
        raise Bug("control")

    offs = []

    def note_off_failing_first(event):
        note_off(event)
        offs.append(event.pitch)
        if len(offs) == 1:
            raise Bug("note_off")

    thru.control, thru.note_off = control_then_fail, note_off_failing_first  # type: ignore[method-assign]
    engine.handle(ControlChange(64, 127, t=clock.t))
    for pitch in (60, 64, 67):
        engine.handle(NoteOn(pitch, 90, t=clock.t))
        engine.handle(NoteOff(pitch, t=clock.t))
    assert sink.sounding() == {(0, 60), (0, 64), (0, 67)}  # the pedal holds them
    engine.handle(ControlChange(64, 0, t=clock.t))
    assert sink.sounding() == set() and sink.pedal() == set()
    assert len(offs) == 3
    assert engine.stats.counters["internal_errors"] == 3  # two controls, one note-off


def test_a_note_through_a_failing_behaviour_is_counted_not_raised():
    engine, clock, sink = make_engine()  # harmonize by rule
    session = engine.sessions.get()
    session.behaviour.note_on = boom  # type: ignore[method-assign]
    engine.handle(NoteOn(60, 100, t=clock.t))  # does not raise
    assert (0, 60) in session.held
    engine.handle(NoteOff(60, t=clock.t))
    assert not session.held and engine.stats.counters["internal_errors"] == 1


def test_a_release_that_fails_still_ends_every_other_note_at_stop():
    config = Config()
    config.server.sessions = "per_source"
    engine, clock, sink = make_engine(config)
    engine.handle(NoteOn(60, 100, t=clock.t, source="osc:10.0.0.1:1"))
    engine.handle(NoteOn(62, 100, t=clock.t, source="osc:10.0.0.2:1"))
    engine.sessions.get("osc:10.0.0.1:1").behaviour.release = boom  # type: ignore[method-assign]
    engine.stop()
    assert sink.sounding() == set()  # the other session's voices, and the tracker's rest
    assert engine.stats.counters["internal_errors"] == 1


def test_one_line_a_second_per_place_with_its_traceback(caplog):
    faults = Faults(Stats(0.0))
    with caplog.at_level(logging.ERROR, logger="liveai.core.faults"):
        for _ in range(100):
            faults("a timer", Bug("again"))
        faults("MIDI input", Bug("elsewhere"))
    assert faults.stats.counters["internal_errors"] == 101
    lines = [r for r in caplog.records if r.name == "liveai.core.faults"]
    assert [r.getMessage().split(" (")[0] for r in lines] == [
        "internal error in a timer",
        "internal error in MIDI input",
    ]
    assert all(r.exc_info and r.exc_info[0] is Bug for r in lines)


async def test_a_loop_callback_that_raises_is_counted_and_the_next_runs():
    """A job's reply comes back as a loop callback (runtime/port.py): the server's loop
    counts one that raises, and the next reply still runs."""
    faults = Faults(Stats(0.0))
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(faults.loop_exception)
    ran: list[int] = []
    try:
        loop.call_soon_threadsafe(boom, 1)
        loop.call_soon_threadsafe(ran.append, 2)
        await asyncio.sleep(0.01)
    finally:
        loop.set_exception_handler(None)
    assert ran == [2] and faults.stats.counters["internal_errors"] == 1
