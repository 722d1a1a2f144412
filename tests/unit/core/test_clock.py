"""Following MIDI clock: tempo from 24 PPQN ticks, beats, start/stop, falling back."""

from __future__ import annotations

import pytest
from fakes import make_engine

from liveai.core.clock import PPQN, Clock
from liveai.errors import CommandError
from liveai.events import Beat, ClockTick, TransportStart, TransportStop


def feed_ticks(engine, clock, bpm, beats, jitter=0.0):
    period = 60.0 / (bpm * PPQN)
    for i in range(PPQN * beats):
        clock.t += period + (jitter if i % 2 else -jitter)
        engine.handle(ClockTick(t=clock.t))


@pytest.mark.parametrize("bpm", [60.0, 97.5, 174.0])
def test_tempo_is_estimated_from_ticks(bpm):
    engine, clock, sink = make_engine()
    engine.handle(TransportStart(t=clock.t))
    feed_ticks(engine, clock, bpm, beats=4, jitter=0.0005)
    assert abs(engine.conductor.clock.bpm(clock.t) - bpm) < 0.5
    assert engine.status()["clock"] == "midi"
    assert [e.n for e in sink.events() if isinstance(e, Beat)] == [0, 1, 2, 3]


def test_tempo_command_is_refused_while_following():
    engine, clock, _ = make_engine()
    feed_ticks(engine, clock, 120, beats=1)
    with pytest.raises(CommandError):
        engine.set_value("tempo", 90)


def test_falls_back_to_internal_tempo_when_ticks_stop():
    engine, clock, _ = make_engine()
    feed_ticks(engine, clock, 90, beats=2)
    clock.t += 1.0
    assert engine.status()["clock"] == "internal" and engine.conductor.clock.bpm(clock.t) == 120.0


def test_stop_and_continue():
    engine, clock, sink = make_engine()
    engine.handle(TransportStart(t=clock.t))
    feed_ticks(engine, clock, 120, beats=2)
    engine.handle(TransportStop(t=clock.t))
    feed_ticks(engine, clock, 120, beats=1)  # ticks while stopped: no beats
    engine.handle(TransportStart(resume=True, t=clock.t))
    feed_ticks(engine, clock, 120, beats=1)
    assert [e.n for e in sink.events() if isinstance(e, Beat)] == [0, 1, 2]


def test_internal_source_ignores_midi_clock():
    c = Clock(100.0, source="internal")
    assert c.midi_tick(1.0) is None and not c.following(1.0) and c.bpm(1.0) == 100.0


@pytest.mark.parametrize("bpm, shown", [(900.0, 300.0), (8.0, 20.0)])
def test_an_incoming_clock_tempo_is_held_to_the_tempo_range(bpm, shown):
    engine, clock, sink = make_engine()
    engine.handle(TransportStart(t=clock.t))
    feed_ticks(engine, clock, bpm, beats=3)
    assert engine.conductor.clock.bpm(clock.t) == shown
    assert engine.state["tempo"] == shown
