"""No stuck notes: whatever players, mode changes, panics and stops do, every note-on
that left liveai gets its note-off, and the tracker agrees with what was sent."""

from __future__ import annotations

from fakes import make_engine, run_until
from hypothesis import given, settings
from hypothesis import strategies as st

from liveai.config import Config
from liveai.core.notes import NoteTracker
from liveai.events import InputLost, NoteOff, NoteOn, TransportStop

pitch = st.integers(0, 127)
channel = st.integers(0, 2)
source = st.sampled_from(["osc:a", "osc:b", "midi:keys"])
action = st.one_of(
    st.tuples(st.just("on"), pitch, st.integers(1, 127), channel, source),
    st.tuples(st.just("off"), pitch, channel, source),
    st.tuples(st.just("mode"), st.sampled_from(["off", "thru", "harmonize"])),
    st.tuples(st.just("panic")),
    st.tuples(st.just("play")),
    st.tuples(st.just("stop")),
    st.tuples(st.just("midi_stop")),
    st.tuples(st.just("lost"), source),
    st.tuples(st.just("wait"), st.floats(0, 1)),
    st.tuples(st.just("scheduled"), pitch, st.floats(0.001, 0.5)),
)


def apply(engine, clock, step):
    kind = step[0]
    if kind == "on":
        engine.handle(NoteOn(step[1], step[2], step[3], t=clock.t, source=step[4]))
    elif kind == "off":
        engine.handle(NoteOff(step[1], step[2], t=clock.t, source=step[3]))
    elif kind == "mode":
        engine.set_mode(step[1])
    elif kind == "panic":
        engine.panic()
    elif kind == "play":
        engine.play()
    elif kind == "stop":
        engine.stop()
    elif kind == "midi_stop":
        engine.handle(TransportStop(t=clock.t))
    elif kind == "lost":
        engine.handle(InputLost(t=clock.t, source=step[1]))
    elif kind == "wait":
        run_until(engine, clock, clock.t + step[1])
    elif kind == "scheduled":  # a timed note pair, as sequences (duet, autopilot) send them
        engine.output.schedule(NoteOn(step[1], 90, t=clock.t + step[2]))
        engine.output.schedule(NoteOff(step[1], t=clock.t + 2 * step[2]))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["off", "thru", "harmonize"]), st.lists(action, max_size=60))
def test_no_stuck_notes_under_any_sequence(mode, steps):
    config = Config()
    config.server.mode = mode
    engine, clock, sink = make_engine(config)
    for step in steps:
        apply(engine, clock, step)
        # what a synth hears is what the tracker believes is sounding
        assert sink.sounding() == set(engine.output.tracker.sounding)
    engine.shutdown()
    assert sink.sounding() == set()
    assert engine.output.tracker.sounding == frozenset()


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 3)), max_size=40))
def test_tracker_counts_voices_per_note(ops):
    """Two voices on one pitch: the note-off is sent only when the last one lets go."""
    tracker = NoteTracker()
    held = 0
    for is_on, _ in ops:
        if is_on:
            tracker.note_on(0, 60)
            held += 1
        else:
            must_send = tracker.note_off(0, 60)
            assert must_send == (held == 1)
            held = max(0, held - 1)
        assert (tracker.sounding == {(0, 60)}) == (held > 0)


def test_panic_drops_queued_notes_and_sends_all_notes_off():
    engine, clock, sink = make_engine()
    engine.output.schedule(NoteOn(60, 100, t=clock.t + 1))
    engine.handle(NoteOn(50, 100, t=clock.t, source="x"))
    engine.panic()
    run_until(engine, clock, clock.t + 2)
    assert sink.sounding() == set()
    assert sum(1 for e in sink.events() if getattr(e, "controller", None) == 123) == 16


model_action = st.one_of(action, st.tuples(st.just("flush")), st.tuples(st.just("continue"), st.floats(0.5, 4)))


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(["harmonize", "duet", "autopilot"]),
       st.lists(st.tuples(st.just("mode"), st.sampled_from(["off", "thru", "harmonize", "duet", "autopilot"]))
                | model_action, max_size=50))
def test_no_stuck_notes_with_model_behaviours(mode, steps):
    from fakes import make_model_engine

    engine, clock, sink, port = make_model_engine(mode)
    for step in steps:
        if step[0] == "flush":
            port.flush()
        elif step[0] == "continue":
            try:
                engine.continue_(step[1], "osc:p:1")
            except Exception as exc:  # continue outside duet mode is refused, nothing else
                assert getattr(exc, "code", None) == "unavailable"
        else:
            apply(engine, clock, step)
        assert sink.sounding() == set(engine.output.tracker.sounding)
    engine.shutdown()
    port.flush()  # answers arriving after shutdown must not sound
    run_until(engine, clock, clock.t + 30)
    assert sink.sounding() == set()
    assert engine.output.tracker.sounding == frozenset()
