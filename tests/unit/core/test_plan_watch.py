"""The plan the stage page draws: what the scheduler holds, heard as it is queued and
as it is taken back (a player barging in, a panic)."""

from __future__ import annotations

from liveai.core.faults import Faults
from liveai.core.output import Output
from liveai.core.stats import Stats
from liveai.events import NoteOff, NoteOn


def output_at(t: float) -> Output:
    clock = [t]
    stats = Stats(t)
    return Output(lambda: clock[0], stats, Faults(stats))


def watched() -> tuple[Output, list[object], list[object]]:
    out = output_at(10.0)
    planned: list[object] = []
    withdrawn: list[object] = []

    class W:
        def planned(self, event: object) -> None:
            planned.append(event)

        def withdrawn(self, events: list[object]) -> None:
            withdrawn.extend(events)

    out.watch = W()
    return out, planned, withdrawn


def test_a_note_for_later_is_planned_and_taken_back_by_its_owner():
    out, planned, withdrawn = watched()
    owner, other = object(), object()
    on, off = NoteOn(64, 90, t=10.5), NoteOff(64, t=10.8)
    out.schedule(on, owner)
    out.schedule(off, owner)
    out.schedule(NoteOn(67, 90, t=11.0), other)
    out.schedule(NoteOn(60, 90, t=9.0), owner)  # due already: sent now, never planned
    assert planned == [on, off, NoteOn(67, 90, t=11.0)]
    assert out.plan() == [on, off, NoteOn(67, 90, t=11.0)]
    assert len(out.unschedule(owner)) == 2
    assert withdrawn == [on, off]
    assert out.plan() == [NoteOn(67, 90, t=11.0)]


def test_a_panic_withdraws_every_queued_note_but_not_timers():
    out, _, withdrawn = watched()
    out.schedule(NoteOn(64, 90, t=10.5), object())
    out.schedule(NoteOff(64, t=10.6))
    out.call_at(10.7, lambda: None)
    out.drop_queued_notes()
    assert withdrawn == [NoteOn(64, 90, t=10.5), NoteOff(64, t=10.6)]
    assert len(out.scheduler) == 1  # the timer stays


def test_without_a_watch_the_plan_is_still_kept():
    out = output_at(10.0)
    out.schedule(NoteOn(64, 90, t=10.5), object())
    assert out.unschedule(object()) == []
    assert out.plan() == [NoteOn(64, 90, t=10.5)]


def test_the_last_refusals_are_kept_with_their_reasons_and_counted():
    stats = Stats(0.0)
    for i in range(40):
        stats.refused(float(i), "osc:127.0.0.1:5000", "bad_value", f"refusal {i}" + "x" * 500)
    stats.refused(41.0, "web:127.0.0.1", "busy", "flood")
    assert len(stats.refusals) == 16
    assert stats.refusals[-1] == (41.0, "web:127.0.0.1", "busy", "flood")
    assert stats.refusals[-2][3].startswith("refusal 39") and len(stats.refusals[-2][3]) == 200
    assert (
        stats.counters["errors"] == 41 and stats.counters["bad_value"] == 40 and stats.counters["busy"] == 1
    )


def test_the_latency_histogram_counts_recent_answers_by_span():
    stats = Stats(0.0)
    for origin, sent in ((0.0, 0.0005), (1.0, 1.002), (2.0, 2.004), (3.0, 3.2)):
        stats.event_out(sent, origin)
    assert stats.latency_histogram(4.0, [0.0, 1.0, 3.0, 10.0]) == [1, 1, 1, 1]
