"""Weeks compressed: three days of players on the fake clock (harmonize by rule, thru
with the pedal, a new player every hour, the transport started and stopped), and a
model's autopilot re-primed every 30 s. What liveai holds stays bounded and nothing
is left sounding; memory does not grow."""

from __future__ import annotations

import gc
import tracemalloc

from fakes import make_engine, make_model_engine, run_until

from liveai.config import Config
from liveai.events import ControlChange, NoteOff, NoteOn


def hour(engine, clock, n: int) -> None:
    """One hour of an installation, in a few minutes of activity."""
    start = clock.t
    for i in range(100):  # a harmonizing player
        engine.handle(NoteOn(60 + i % 12, 90, t=clock.t, source="osc:10.0.0.1:5000"))
        run_until(engine, clock, clock.t + 0.1)
        engine.handle(NoteOff(60 + i % 12, t=clock.t, source="osc:10.0.0.1:5001"))
    engine.handle(ControlChange(64, 127, t=clock.t, source="session:pedal"))  # a player with the pedal
    for i in range(20):
        engine.handle(NoteOn(48 + i, 70, t=clock.t, source="session:pedal"))
        engine.handle(NoteOff(48 + i, t=clock.t + 0.05, source="session:pedal"))
    engine.handle(ControlChange(64, 0, t=clock.t + 0.1, source="session:pedal"))
    engine.handle(NoteOn(72, 80, t=clock.t, source=f"osc:10.9.{n % 250}.1:6000"))  # someone passing by
    engine.handle(NoteOff(72, t=clock.t + 0.2, source=f"osc:10.9.{n % 250}.1:6000"))
    engine.play()
    run_until(engine, clock, clock.t + 60)  # a minute of beats
    engine.stop()
    run_until(engine, clock, start + 3600)


def test_three_days_on_the_fake_clock_stay_bounded():
    config = Config()
    config.server.sessions = "per_source"
    config.server.max_sessions = 4
    engine, clock, sink = make_engine(config)
    tracemalloc.start()
    sizes = []
    for n in range(72):
        hour(engine, clock, n)
        sink.sent.clear()  # the test's own record, not liveai's
        assert engine.output.tracker.sounding == frozenset()
        assert len(engine.output.scheduler) == 0 and len(engine.sessions) <= 4
        if n in (6, 71):
            gc.collect()
            sizes.append(tracemalloc.get_traced_memory()[0])
    tracemalloc.stop()
    assert engine.stats.counters["sessions_evicted"] >= 60  # the passers-by gave way, the regulars stayed
    assert sizes[1] - sizes[0] < 256 * 1024, sizes  # no growth from hour 6 to hour 72


def test_an_autopilot_re_primed_for_twenty_minutes_stays_bounded():
    engine, clock, sink, port = make_model_engine("autopilot", autopilot__reprime_s=30.0)
    autopilot = engine.sessions.get().behaviour
    held = []
    for _ in range(20 * 60 // 5):
        for _ in range(5):
            port.flush()
            run_until(engine, clock, clock.t + 1.0)
        held.append(
            (
                len(engine.output.scheduler),
                len(autopilot.part.notes),
                len(autopilot.part.note_times),
                len(autopilot.recent),
            )
        )
        sink.sent.clear()
    assert engine.stats.counters["events_out"] > 2000  # it played all along (and re-primed 40 times)
    assert max(h[0] for h in held) < 500 and max(h[1] for h in held) < 200
    assert max(h[2] for h in held) < 200 and max(h[3] for h in held) <= 256
    engine.set_mode("off")
    port.flush()
    run_until(engine, clock, clock.t + 5)
    assert engine.output.tracker.sounding == frozenset()
