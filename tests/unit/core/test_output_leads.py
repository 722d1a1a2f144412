"""Latency compensation: a sink with a lead gets scheduled events that much before their
time, the others at it; notes keep their length, an off never reaches a sink before its
on, and what is sent now (or taken back by a panic) is never early."""

from __future__ import annotations

from fakes import Sink, make_engine, run_until

from liveai.config import Config
from liveai.events import Beat, ClockTick, NoteOff, NoteOn, TransportStart, TransportStop


def engine_with_leads(config: Config | None = None):
    engine, clock, plain = make_engine(config)
    near, far = Sink(clock), Sink(clock)
    engine.output.add_sink(near, 0.03)
    engine.output.add_sink(far, 0.2)
    return engine, clock, plain, near, far


def notes(sink: Sink, t0: float) -> list[tuple[float, str, int]]:
    return [
        (round(t - t0, 6), type(e).__name__, e.pitch)
        for t, e in sink.sent
        if isinstance(e, (NoteOn, NoteOff))
    ]


def test_each_sink_gets_scheduled_notes_its_lead_early_with_their_length():
    engine, clock, plain, near, far = engine_with_leads()
    t0 = clock.t
    phrase = [(1.0, 60, 1.5), (1.25, 64, 1.3), (2.0, 67, 2.1)]
    for on, pitch, off in phrase:
        engine.output.schedule(NoteOn(pitch, 90, t=t0 + on), owner="part")
        engine.output.schedule(NoteOff(pitch, t=t0 + off), owner="part")
    run_until(engine, clock, t0 + 3)
    expected = sorted(
        [(on, "NoteOn", p) for on, p, _ in phrase] + [(off, "NoteOff", p) for _, p, off in phrase]
    )
    assert notes(plain, t0) == expected
    for sink, lead in ((near, 0.03), (far, 0.2)):
        assert notes(sink, t0) == [(round(t - lead, 6), kind, p) for t, kind, p in expected]


def test_a_note_due_within_a_lead_goes_at_once_to_that_sink_only():
    engine, clock, plain, near, far = engine_with_leads()
    t0 = clock.t
    engine.output.schedule(NoteOn(60, 90, t=t0 + 0.1))
    run_until(engine, clock, t0 + 1)
    assert notes(far, t0) == [(0.0, "NoteOn", 60)]  # late by 0.1 s: it was planned too late
    assert notes(near, t0) == [(0.07, "NoteOn", 60)]
    assert notes(plain, t0) == [(0.1, "NoteOn", 60)]


def test_a_note_that_left_early_is_not_taken_back_half():
    """Once out on the sink of the largest lead, a note is decided: the others get it
    and its off even when its owner takes back what it scheduled."""
    engine, clock, plain, near, far = engine_with_leads()
    t0 = clock.t
    engine.output.schedule(NoteOn(60, 90, t=t0 + 1.0), owner="part")
    engine.output.schedule(NoteOff(60, t=t0 + 1.1), owner="part")
    engine.output.schedule(NoteOn(62, 90, t=t0 + 2.0), owner="part")
    run_until(engine, clock, t0 + 0.95)  # 60's on and off have left for `far`
    engine.output.unschedule("part")
    run_until(engine, clock, t0 + 3)
    for sink in (plain, near, far):
        assert [p for _, kind, p in notes(sink, t0) if kind == "NoteOn"] == [60]
        assert sink.sounding() == set()


def test_an_off_sent_now_stops_a_note_on_still_on_its_way():
    engine, clock, plain, near, far = engine_with_leads()
    t0 = clock.t
    engine.output.schedule(NoteOn(60, 90, t=t0 + 1.0), owner="part")
    run_until(engine, clock, t0 + 0.9)  # out on `far` only
    engine.output.release_tracked()  # a stop: note-offs now
    run_until(engine, clock, t0 + 2)
    assert notes(far, t0) == [(0.8, "NoteOn", 60), (0.9, "NoteOff", 60)]
    for sink in (plain, near):
        assert notes(sink, t0) == [(0.9, "NoteOff", 60)]  # never an on after its off
    assert all(s.sounding() == set() and s.stacked == 0 for s in (plain, near, far))


def test_a_panic_drops_what_is_on_its_way():
    engine, clock, plain, near, far = engine_with_leads()
    t0 = clock.t
    engine.output.schedule(NoteOn(60, 90, t=t0 + 1.0), owner="part")
    engine.output.schedule(NoteOff(60, t=t0 + 1.5), owner="part")
    engine.output.schedule(NoteOn(62, 90, t=t0 + 1.0), owner="part")  # on and off out on `far`
    engine.output.schedule(NoteOff(62, t=t0 + 1.05), owner="part")
    run_until(engine, clock, t0 + 0.9)
    engine.panic()
    run_until(engine, clock, t0 + 2)
    for sink in (plain, near):  # the release's off only: no note sounds there
        assert [(kind, p) for _, kind, p in notes(sink, t0)] == [("NoteOff", 60)]
    assert len(engine.output.scheduler) == 0


def test_an_event_sent_now_is_never_early():
    engine, clock, plain, near, far = engine_with_leads()
    t0 = clock.t
    engine.output.send(NoteOn(60, 90, t=t0))
    assert notes(plain, t0) == notes(near, t0) == notes(far, t0) == [(0.0, "NoteOn", 60)]


def clock_leader() -> Config:
    config = Config()
    config.midi.clock_out = True
    config.clock.source = "internal"
    config.clock.bpm = 120.0
    return config


def timed(sink: Sink, kind: type) -> list[float]:
    return [t for t, e in sink.sent if isinstance(e, kind)]


def beats_begun(engine) -> list[float]:  # type: ignore[no-untyped-def]
    """Where the loop plays each beat, as it plays them."""
    began: list[float] = []
    to_sessions = engine.conductor._beat_sessions
    engine.conductor._beat_sessions = lambda n, t: (began.append(t), to_sessions(n, t))
    return began


def test_clock_and_beat_echo_go_out_each_sink_its_lead_early():
    engine, clock, plain, near, far = engine_with_leads(clock_leader())
    t0 = clock.t
    began = beats_begun(engine)
    engine.play()
    run_until(engine, clock, t0 + 2.0)
    engine.set_value("tempo", 150.0)  # the clock planned ahead takes the new tempo
    run_until(engine, clock, t0 + 4.0)
    engine.stop()
    run_until(engine, clock, t0 + 5.0)
    ticks = {sink: timed(sink, ClockTick) for sink in (plain, near, far)}
    beats = {sink: timed(sink, Beat) for sink in (plain, near, far)}
    # the same pulses and beats everywhere, none twice, none lost to the re-planning; a
    # sink of a larger lead has had those within its lead of the stop already
    assert len(ticks[plain]) > 150 and len(beats[plain]) >= 7
    for sink, lead in ((near, 0.03), (far, 0.2)):
        assert 0 <= len(ticks[sink]) - len(ticks[plain]) <= lead / (60 / 3600) + 1
        for got, due in ((ticks[sink], ticks[plain]), (beats[sink], beats[plain])):
            assert max(abs(g - (d - lead)) for g, d in zip(got, due)) < 1e-9
    # the echo is the beat the loop plays on, also after the tempo change
    assert beats[plain] == began and ticks[plain][::24][: len(began)] == began
    # 150 BPM after the change: the pulses at the end are 60 / (150 * 24) apart
    assert abs((ticks[plain][-1] - ticks[plain][-2]) - 60 / 3600) < 1e-9
    # nothing of the clock after the stop on any sink
    for sink in (plain, near, far):
        stop = timed(sink, TransportStop)[-1]
        assert max(ticks[sink]) < stop


def test_the_first_beat_is_on_time_at_every_sink():
    """Play starts the clock the largest lead later, so the first beat is not late anywhere."""
    engine, clock, plain, near, far = engine_with_leads(clock_leader())
    t0 = clock.t
    engine.play()
    run_until(engine, clock, t0 + 1.0)
    first = timed(plain, Beat)[0]
    assert timed(far, Beat)[0] == first - 0.2 >= t0
    assert timed(near, Beat)[0] == first - 0.03


def test_a_start_while_the_clock_runs_counts_its_pulses_again_without_a_burst():
    """A DAW's Start (no clock of its own) restarts liveai's running clock: the pulses
    planned ahead start over from the next one, evenly spaced on every sink."""
    engine, clock, plain, near, far = engine_with_leads(clock_leader())
    t0 = clock.t
    began = beats_begun(engine)
    engine.play()
    run_until(engine, clock, t0 + 1.0)
    engine.conductor.play()  # as TransportStart does
    run_until(engine, clock, t0 + 4.0)
    for sink, lead in ((plain, 0.0), (near, 0.03), (far, 0.2)):
        start = timed(sink, TransportStart)[-1]
        ticks = [t for t in timed(sink, ClockTick) if t > start]
        gaps = [b - a for a, b in zip(ticks, ticks[1:])]
        assert len(ticks) > 120 and max(abs(g - 60 / 2880) for g in gaps) < 1e-9, (lead, gaps[:5])
    since = [t for t in began if t > t0 + 1.0]  # beat 0 again at the next pulse, then on
    gaps = [b - a for a, b in zip(since, since[1:])]
    assert len(since) >= 5 and max(abs(g - 0.5) for g in gaps) < 1e-9, gaps


def test_a_panic_lets_no_note_sound_on_a_sink_of_a_smaller_lead():
    """A note whose off has left for the far sink is let go by the tracker: the offs on
    their way to the other sinks still reach them (a panic and shutdown leave nothing)."""
    engine, clock, plain, near, far = engine_with_leads()
    t0 = clock.t
    engine.output.schedule(NoteOn(60, 90, t=t0 + 1.0), owner="part")
    engine.output.schedule(NoteOff(60, t=t0 + 1.5), owner="part")
    engine.output.schedule(NoteOn(62, 90, t=t0 + 1.44), owner="part")  # out on `far` only
    engine.output.schedule(NoteOff(62, t=t0 + 1.47), owner="part")
    run_until(engine, clock, t0 + 1.4)
    engine.panic()
    run_until(engine, clock, t0 + 2)
    for sink in (plain, near, far):
        assert sink.sounding() == set() and sink.stacked == 0
        assert [p for _, kind, p in notes(sink, t0) if kind == "NoteOn"] == [60, 62][: 1 + (sink is far)]
    # an off for a note-on that never reached a sink is not sent to it
    assert [p for _, kind, p in notes(plain, t0) if kind == "NoteOff"] == [60]


def test_a_note_sent_now_is_not_cut_by_an_off_still_on_its_way():
    """The far sink's off has left; the same key played now (thru, harmonize) must not
    stack on the old note at the other sinks and then be cut by its off."""
    engine, clock, plain, near, far = engine_with_leads()
    t0 = clock.t
    engine.output.schedule(NoteOn(60, 90, t=t0 + 1.0), owner="part")
    engine.output.schedule(NoteOff(60, t=t0 + 1.5), owner="part")
    run_until(engine, clock, t0 + 1.4)  # the off is out on `far`, on its way to the others
    engine.output.send(NoteOn(60, 100, t=clock.t), owner="thru")
    run_until(engine, clock, t0 + 2)
    for sink in (plain, near, far):
        assert sink.sounding() == {(0, 60)} and sink.stacked == 0
        assert [kind for _, kind, _ in notes(sink, t0)] == ["NoteOn", "NoteOff", "NoteOn"]
    engine.output.send(NoteOff(60, t=clock.t), owner="thru")
    assert all(sink.sounding() == set() for sink in (plain, near, far))


def test_a_short_note_on_its_way_and_the_same_key_played_now_leave_nothing_sounding():
    """A note shorter than the far lead: its on and its off are both on their way to the
    nearer sinks when the same key is played now. The off goes with the new note; its
    on, which no off would follow any more, must not arrive after them."""
    engine, clock, plain, near, far = engine_with_leads()
    t0 = clock.t
    engine.output.schedule(NoteOn(60, 90, t=t0 + 1.0), owner="part")
    engine.output.schedule(NoteOff(60, t=t0 + 1.05), owner="part")
    run_until(engine, clock, t0 + 0.9)  # both have left for `far`; on their way to plain
    engine.output.send(NoteOn(60, 100, t=clock.t), owner="thru")
    run_until(engine, clock, t0 + 0.95)
    engine.output.send(NoteOff(60, t=clock.t), owner="thru")
    run_until(engine, clock, t0 + 2)
    for sink in (plain, near, far):
        assert sink.sounding() == set(), (sink.sounding(), notes(sink, t0))


def test_a_start_while_the_clock_runs_leaves_no_old_beat_echo():
    engine, clock, plain, near, far = engine_with_leads(clock_leader())
    t0 = clock.t
    engine.play()
    for restart in (1.0, 1.45, 1.9):  # the old next beat's echo is on its way or planned
        run_until(engine, clock, t0 + restart)
        engine.conductor.play()  # as TransportStart does
        assert engine.conductor._pulse.precise  # the next pulse is beat 0: a precise wake
    run_until(engine, clock, t0 + 4.0)
    for sink in (plain, near, far):
        start = timed(sink, TransportStart)[-1]
        after = [e.n for t, e in sink.sent if isinstance(e, Beat) and t >= start]
        assert len(after) >= 4 and after == list(range(len(after))), after


def test_after_a_stall_a_short_note_reaches_every_sink_on_before_off():
    """A note shorter than the leads' difference, and the loop woken only after both its
    times (a stalled machine): each sink still gets its on before its off, and nothing
    is left sounding."""
    engine, clock, plain, near, far = engine_with_leads()
    t0 = clock.t
    engine.output.schedule(NoteOn(60, 90, t=t0 + 1.0), owner="part")
    engine.output.schedule(NoteOff(60, t=t0 + 1.1), owner="part")  # 0.1 s < 0.2 - 0.03
    run_until(engine, clock, t0 + 0.85)  # the note-on has left for `far` only
    assert notes(far, t0) == [(0.8, "NoteOn", 60)] and notes(near, t0) == []
    clock.t = t0 + 1.5  # the next wake-up, late
    run_until(engine, clock, t0 + 2)
    for sink in (plain, near, far):
        assert [kind for _, kind, _ in notes(sink, t0)] == ["NoteOn", "NoteOff"], notes(sink, t0)
    assert engine.output.tracker.sounding == frozenset()


def test_after_a_stall_a_repeated_note_keeps_its_order_at_every_sink():
    """The same key twice, the second on where the first ends, and a stall over both: each
    sink hears on, off, on, off (the second on before the first off would stack a voice,
    and that off would then cut it)."""
    engine, clock, plain, near, far = engine_with_leads()
    t0 = clock.t
    for on, off in ((1.0, 1.1), (1.1, 1.19)):
        engine.output.schedule(NoteOn(60, 90, t=t0 + on), owner="part")
        engine.output.schedule(NoteOff(60, t=t0 + off), owner="part")
    run_until(engine, clock, t0 + 0.95)
    clock.t = t0 + 1.15  # the next wake-up, late
    run_until(engine, clock, t0 + 2)
    for sink in (plain, near, far):
        kinds = [kind for _, kind, _ in notes(sink, t0)]
        assert kinds == ["NoteOn", "NoteOff", "NoteOn", "NoteOff"], notes(sink, t0)
    assert engine.output.tracker.sounding == frozenset()
