"""Following MIDI clock: tempo from 24 PPQN ticks, beats, start/stop, falling back."""

from __future__ import annotations

import pytest
from fakes import make_engine, run_until

from liveai.config import Config
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


def announcing(engine):
    """Record the conductor's announcements and beats as ("up"|"beat", n, t, now)."""
    heard = []
    conductor = engine.conductor
    clock = engine.output.now
    conductor._upcoming_sessions = lambda n, t: heard.append(("up", n, t, clock()))
    conductor._beat_sessions = lambda n, t: heard.append(("beat", n, t, clock()))
    return heard


@pytest.mark.parametrize(
    "bpm, lookahead_ms, pulses_ahead",
    [(120.0, 10.0, 1), (300.0, 10.0, 1), (120.0, 50.0, 2), (60.0, 100.0, 2)],
)
def test_each_internal_beat_is_announced_ahead_at_its_exact_time(bpm, lookahead_ms, pulses_ahead):
    """A pulse ahead, or as many whole pulses as the lookahead holds; once each, at the
    time it comes."""
    config = Config()
    config.clock.lookahead_ms = lookahead_ms
    engine, clock, _ = make_engine(config)
    engine.set_value("tempo", bpm)
    heard = announcing(engine)
    engine.play()
    run_until(engine, clock, clock.t + 4.5 * 60 / bpm)
    ups = [(n, t, now) for kind, n, t, now in heard if kind == "up"]
    beats = {n: t for kind, n, t, _ in heard if kind == "beat"}
    assert [n for n, _, _ in ups] == [0, 1, 2, 3, 4]
    assert sorted(beats) == [0, 1, 2, 3, 4]
    pulse = 60 / bpm / PPQN
    for n, t, now in ups:
        assert t == pytest.approx(beats[n], abs=1e-9)
        if n > 0:  # beat 0 is announced at play
            assert t - now == pytest.approx(pulses_ahead * pulse, abs=1e-9)


def test_a_midi_clock_beat_is_announced_on_the_line_its_jittery_ticks_fit():
    """Ticks 0.8 ms early and late in turn: the announced beat lies on the fitted grid,
    closer to the sender's beat than the tick that carries it."""
    engine, clock, _ = make_engine()
    heard = announcing(engine)
    engine.handle(TransportStart(t=clock.t))
    origin = clock.t
    period = 60.0 / (120 * PPQN)
    for i in range(1, PPQN * 6 + 1):
        clock.t = origin + i * period + (0.0008 if i % 2 else -0.0008)
        engine.handle(ClockTick(t=clock.t))
    ideal = {n: origin + (1 + n * PPQN) * period for n in range(6)}  # the first tick is beat 0
    ups = {n: t for kind, n, t, _ in heard if kind == "up"}
    beats = {n: t for kind, n, t, _ in heard if kind == "beat"}
    assert {1, 2, 3, 4, 5} <= set(ups)
    for n in (3, 4, 5):  # two beats of ticks fitted
        assert abs(ups[n] - ideal[n]) < 0.0002 < abs(beats[n] - ideal[n])
