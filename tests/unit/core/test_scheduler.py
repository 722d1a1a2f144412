"""The scheduler sends timed events in time order at their target time, never early."""

from __future__ import annotations

from fakes import make_engine, run_until
from hypothesis import given
from hypothesis import strategies as st

from liveai.core.scheduler import Scheduler
from liveai.events import NoteOff, NoteOn


@given(st.lists(st.floats(0, 10, allow_nan=False), max_size=50))
def test_pop_due_returns_in_time_order_and_only_what_is_due(times):
    s = Scheduler()
    for i, t in enumerate(times):
        s.push(t, i)
    first = s.pop_due(5.0)
    assert [t for t, _ in first] == sorted(t for t in times if t <= 5.0)
    rest = s.pop_due(10.0)
    assert [t for t, _ in rest] == sorted(t for t in times if t > 5.0)
    assert len(s) == 0 and s.next_time() is None


def test_equal_times_keep_insertion_order():
    s = Scheduler()
    for item in "abc":
        s.push(1.0, item)
    assert [item for _, item in s.pop_due(1.0)] == ["a", "b", "c"]


def test_push_reports_a_new_earliest_item():
    s = Scheduler()
    assert s.push(2.0, "late")
    assert s.push(1.0, "early")
    assert not s.push(3.0, "later")


def test_remove_if_drops_only_matching_items():
    s = Scheduler()
    for i in range(6):
        s.push(float(i), i)
    assert s.remove_if(lambda item: item % 2 == 0) == 3
    assert [item for _, item in s.pop_due(10)] == [1, 3, 5]


def test_engine_sends_scheduled_notes_at_their_target_time():
    engine, clock, sink = make_engine()
    t0 = clock.t
    rearmed = []
    engine.output.on_reschedule = rearmed.append
    engine.output.schedule(NoteOn(60, 100, t=t0 + 0.5))
    engine.output.schedule(NoteOff(60, t=t0 + 1.0))
    engine.output.schedule(NoteOn(62, 100, t=t0 + 0.25))
    assert rearmed == [t0 + 0.5, t0 + 0.25]  # the driver re-arms only for earlier items
    assert sink.sent == []
    run_until(engine, clock, t0 + 2)
    assert [(t - t0, type(e).__name__, e.pitch) for t, e in sink.sent] == [
        (0.25, "NoteOn", 62),
        (0.5, "NoteOn", 60),
        (1.0, "NoteOff", 60),
    ]


def test_an_event_whose_time_has_passed_goes_out_at_once():
    engine, clock, sink = make_engine()
    engine.output.schedule(NoteOn(60, 100, t=clock.t - 1))
    assert len(sink.sent) == 1 and len(engine.output.scheduler) == 0


def test_internal_clock_beats_without_drift():
    engine, clock, sink = make_engine()
    engine.set_value("tempo", 240)  # 4 beats a second
    t0 = clock.t
    engine.play()
    run_until(engine, clock, t0 + 10.001)
    from liveai.events import Beat

    beats = [(t, e.n) for t, e in sink.sent if isinstance(e, Beat)]
    lookahead = engine.config.clock.lookahead_ms / 1000
    assert [n for _, n in beats] == list(range(40))
    for t, n in beats:  # each beat lands on its grid point: pulses are not summed from "now"
        assert abs(t - (t0 + lookahead + n * 0.25)) < 1e-9
