"""Panic means silence: every generator of every session stops (the autopilot, a duet
answer, the morph loop, their scheduled parts) until play or a mode command, or, for a
mode that answers the player, the player's next note. Stop then play resumes them too.
`panicked` says so (OSC /liveai/out/panicked, MQTT state/panicked, /liveai/status)."""

from __future__ import annotations

import pytest
from fakes import make_engine, make_model_engine, run_until, tiny_vae

from liveai.behaviours.morph_desk import Pattern
from liveai.config import Config
from liveai.config.load import load_config
from liveai.core.clock import PPQN
from liveai.errors import CommandError
from liveai.events import (
    Beat,
    ClockTick,
    ControlChange,
    NoteOff,
    NoteOn,
    ProgramChange,
    StateChanged,
    TransportStart,
)

LONG = 30.0  # seconds of fake time in which nothing may sound after a panic
H = 128  # melody.HOLD


def notes_on(sink, after: float = 0.0):
    return [(t, e) for t, e in sink.sent if isinstance(e, NoteOn) and e.velocity > 0 and t >= after]


def beats(sink, after: float = 0.0):
    return [(t, e.n) for t, e in sink.sent if isinstance(e, Beat) and t >= after]


def panicked_echoes(sink):
    return [e.value for _, e in sink.sent if isinstance(e, StateChanged) and e.name == "panicked"]


def drive(engine, clock, port, seconds, step=0.01):
    """Time passes as on the server: due events go out, the worker's answers come back."""
    end = clock.t + seconds
    while clock.t < end - 1e-9:
        port.flush()
        run_until(engine, clock, min(end, clock.t + step))
    port.flush()


def play_phrase(engine, clock, port, pitches, source="osc:p:1", step=0.25):
    for pitch in pitches:
        engine.handle(NoteOn(pitch, 80, t=clock.t, source=source))
        drive(engine, clock, port, step * 0.9)
        engine.handle(NoteOff(pitch, t=clock.t, source=source))
        drive(engine, clock, port, step * 0.1)


def assert_silent_after_panic(engine, clock, port, sink, seconds=LONG):
    engine.panic()
    assert sink.sounding() == set() and not engine.output.tracker.sounding
    after = clock.t
    drive(engine, clock, port, seconds, step=0.05)
    assert notes_on(sink, after) == [], "a generator played on after the panic"
    assert engine.status()["panicked"] is True


# -- the autopilot ------------------------------------------------------------------------
def test_the_autopilot_stays_silent_after_a_panic_until_play():
    engine, clock, sink, port = make_model_engine("autopilot", autopilot__reprime_s=5.0)
    drive(engine, clock, port, 6.0)
    assert notes_on(sink), "the autopilot plays before the panic"
    assert_silent_after_panic(engine, clock, port, sink)
    assert panicked_echoes(sink) == [True]
    engine.handle(NoteOn(60, 90, t=clock.t, source="osc:p:1"))  # the player's note does not wake it
    engine.handle(NoteOff(60, t=clock.t, source="osc:p:1"))
    quiet_until = clock.t
    drive(engine, clock, port, 5.0, step=0.05)
    assert notes_on(sink, quiet_until) == [] and engine.state["panicked"]
    resumed = clock.t
    engine.play()
    assert panicked_echoes(sink) == [True, False] and engine.status()["panicked"] is False
    drive(engine, clock, port, LONG)
    assert len(notes_on(sink, resumed)) > 5, "play brings the autopilot back"
    behaviour = engine.sessions.get().behaviour
    assert len(behaviour.part.notes) < 100 and len(behaviour.recent) <= 256  # memory stays bounded
    assert len(engine.output.scheduler) < 200
    engine.shutdown()
    assert sink.sounding() == set()


@pytest.mark.parametrize("mode", ["autopilot", "off"])
def test_a_mode_command_resumes_the_autopilot_even_the_same_mode(mode):
    engine, clock, sink, port = make_model_engine("autopilot")
    drive(engine, clock, port, 3.0)
    assert_silent_after_panic(engine, clock, port, sink, seconds=10.0)
    engine.set_mode(mode)
    assert not engine.state["panicked"] and panicked_echoes(sink) == [True, False]
    if mode == "off":
        engine.set_mode("autopilot")
    resumed = clock.t
    drive(engine, clock, port, 10.0)
    assert notes_on(sink, resumed)


def test_stop_then_play_brings_the_autopilot_back():
    engine, clock, sink, port = make_model_engine("autopilot")
    drive(engine, clock, port, 3.0)
    engine.stop()
    assert sink.sounding() == set()
    stopped = clock.t
    drive(engine, clock, port, 10.0, step=0.05)
    assert notes_on(sink, stopped) == []
    assert not engine.state["panicked"] and panicked_echoes(sink) == []  # a stop is no panic
    engine.play()
    played = clock.t
    drive(engine, clock, port, 10.0)
    assert len(notes_on(sink, played)) > 5


def test_continue_in_a_panicked_autopilot_is_refused_naming_the_mode():
    engine, clock, sink, port = make_model_engine("autopilot")
    engine.panic()
    with pytest.raises(CommandError, match="mode is autopilot"):
        engine.continue_(4.0)
    assert engine.state["panicked"]


# -- duet ---------------------------------------------------------------------------------
def test_a_duet_answer_in_progress_stops_and_the_players_next_phrase_is_answered():
    engine, clock, sink, port = make_model_engine("duet", duet__min_response_s=6.0)
    play_phrase(engine, clock, port, [60, 62, 64, 67])
    drive(engine, clock, port, 1.0)
    assert notes_on(sink), "the answer has begun"
    assert_silent_after_panic(engine, clock, port, sink)  # six seconds of answer were due
    play_phrase(engine, clock, port, [67, 65, 64, 62])  # the player plays: duet answers again
    assert not engine.state["panicked"] and panicked_echoes(sink) == [True, False]
    phrase_end = clock.t
    drive(engine, clock, port, 2.0)
    assert notes_on(sink, phrase_end), "the phrase played after the panic is answered"
    drive(engine, clock, port, 8.0)
    assert sink.sounding() == set()


def test_continue_after_a_panic_in_duet_answers_now():
    engine, clock, sink, port = make_model_engine("duet")
    play_phrase(engine, clock, port, [60, 64, 67])
    engine.panic()
    asked = clock.t
    engine.continue_(4.0, "osc:p:1")
    drive(engine, clock, port, 2.0)
    assert notes_on(sink, asked) and not engine.state["panicked"]


# -- morph --------------------------------------------------------------------------------
PATTERN_A = tuple([60, H, 62, H, 64, H, 65, H] * 4)  # the loop at morph 0: two bars of 16ths


def morph_engine():
    engine, clock, sink, port = make_model_engine("thru", vae=tiny_vae())
    desk = engine.behaviours.modes["morph"].desk(engine.sessions.get("").ctx)
    desk.put("a", Pattern(PATTERN_A, 90))
    desk.put("b", Pattern(tuple([69, H, H, H, 67, 129, 64, H] * 4), 60))
    port.flush()
    engine.set_mode("morph")
    engine.play()
    return engine, clock, sink, port


@pytest.mark.parametrize("resume", ["play", "mode"])
def test_the_morph_loop_stops_at_a_panic_and_comes_back_with_play_or_the_mode(resume):
    engine, clock, sink, port = morph_engine()
    drive(engine, clock, port, 4.0, step=0.05)
    assert notes_on(sink)
    assert_silent_after_panic(engine, clock, port, sink, seconds=10.0)  # the clock's beats go on
    assert engine.state["playing"]
    engine.handle(NoteOn(72, 90, t=clock.t, source="osc:p:1"))  # a note does not restart the loop
    engine.handle(NoteOff(72, t=clock.t, source="osc:p:1"))
    after_note = clock.t
    drive(engine, clock, port, 4.0, step=0.05)
    assert notes_on(sink, after_note) == []
    engine.play() if resume == "play" else engine.set_mode("morph")
    resumed = clock.t
    drive(engine, clock, port, 4.0, step=0.05)
    assert len(notes_on(sink, resumed)) >= 8
    engine.stop()
    assert sink.sounding() == set()


def test_play_after_a_panic_brings_the_loop_back_in_phase_with_its_bars():
    """The transport ran on through the panic: play resumes the loop where its bars are,
    its beats counted on from the first, every note on the grid of the first pass."""
    engine, clock, sink, port = morph_engine()
    drive(engine, clock, port, 4.0, step=0.05)
    origin, first = beats(sink)[0]
    assert first == 0
    engine.panic()
    drive(engine, clock, port, 3.3, step=0.05)  # off the beat: a restart would move the grid
    resumed = clock.t
    engine.play()
    drive(engine, clock, port, 4.0, step=0.05)
    beat_s = 60.0 / engine.state["tempo"]
    after = beats(sink, resumed)
    assert len(after) >= 7
    for t, n in after:
        assert t - origin == pytest.approx(n * beat_s, abs=1e-6), "the beat count goes on"
    step_s = beat_s / 4
    played = notes_on(sink, resumed)
    assert len(played) >= 8
    for t, note in played:
        step = round((t - origin) / step_s)
        assert t - origin == pytest.approx(step * step_s, abs=1e-6)
        assert note.pitch == PATTERN_A[step % len(PATTERN_A)], "the loop plays the step its bar is at"


def daw_ticks(engine, clock, n):
    """`n` pulses of a DAW's MIDI clock at 120 BPM, as they arrive."""
    for _ in range(n):
        run_until(engine, clock, clock.t + 60.0 / (120 * PPQN))
        engine.handle(ClockTick(t=clock.t))


def test_following_a_daw_play_after_a_panic_keeps_its_count_and_its_start_restarts_it():
    engine, clock, sink = make_engine()
    engine.handle(TransportStart(t=clock.t))
    daw_ticks(engine, clock, 2 * PPQN + 5)
    engine.panic()
    daw_ticks(engine, clock, 30)
    resumed = clock.t
    engine.play()
    daw_ticks(engine, clock, 2 * PPQN)
    assert [n for _, n in beats(sink, resumed)] == [4, 5], (
        "in step with the DAW's own count (its tick 96, 120)"
    )
    assert not engine.state["panicked"]
    started = clock.t
    engine.handle(TransportStart(t=clock.t))  # the DAW starts again from its top: so does liveai
    daw_ticks(engine, clock, PPQN + 1)
    assert [n for _, n in beats(sink, started)] == [0, 1]


def test_play_when_stopped_starts_from_beat_0():
    engine, clock, sink = make_engine()
    engine.play()
    run_until(engine, clock, clock.t + 1.3)
    engine.stop()
    run_until(engine, clock, clock.t + 0.7)
    played = clock.t
    engine.play()
    run_until(engine, clock, clock.t + 1.1)
    assert [n for _, n in beats(sink, played)] == [0, 1, 2]


def test_a_failing_panic_hook_is_contained_and_the_panic_still_silences():
    engine, clock, sink, port = make_model_engine("autopilot")
    drive(engine, clock, port, 3.0)

    def broken() -> None:
        raise RuntimeError("a bug in a transport's panic")

    engine.on_panic.append(broken)
    assert_silent_after_panic(engine, clock, port, sink, seconds=5.0)
    assert engine.stats.counters["internal_errors"] == 1


# -- modes that answer the player -----------------------------------------------------------
@pytest.mark.parametrize("mode", ["harmonize", "thru"])
def test_the_players_next_note_resumes_harmonize_and_thru(mode):
    config = Config()
    config.server.mode = mode
    engine, clock, sink = make_engine(config)
    engine.start()
    engine.handle(NoteOn(60, 100, t=clock.t, source="osc:p:1"))
    engine.panic()
    assert sink.sounding() == set() and engine.state["panicked"]
    engine.handle(NoteOff(60, t=clock.t, source="osc:p:1"))  # the key held over the panic ends nothing new
    engine.handle(NoteOn(62, 90, t=clock.t, source="osc:p:1"))
    expected = {(0, 65), (0, 69)} if mode == "harmonize" else {(0, 62)}  # D -> F, A in C major
    assert sink.sounding() == expected
    assert not engine.state["panicked"] and panicked_echoes(sink) == [True, False]
    engine.handle(NoteOff(62, t=clock.t, source="osc:p:1"))
    assert sink.sounding() == set()


def test_model_harmonize_answers_the_next_note_after_a_panic():
    engine, clock, sink, port = make_model_engine("harmonize")
    engine.panic()
    engine.handle(NoteOn(60, 100, t=clock.t, source="osc:p:1"))
    port.flush()
    assert len(notes_on(sink)) == 2 and engine.stats.counters["deadline_misses"] == 0
    engine.handle(NoteOff(60, t=clock.t, source="osc:p:1"))
    assert sink.sounding() == set()


def test_the_pedal_resumes_thru_as_a_note_does():
    config = Config()
    config.server.mode = "thru"
    engine, clock, sink = make_engine(config)
    engine.start()
    engine.panic()
    engine.handle(ControlChange(64, 127, t=clock.t, source="osc:p:1"))
    assert sink.pedal() == {0} and not engine.state["panicked"]


@pytest.mark.parametrize("halt", ["panic", "stop"])
def test_a_mapped_controller_resumes_nothing_an_unmapped_one_or_a_note_resumes_thru(halt):
    """As the docs say: CC 1 (midi.cc_map: temperature) sets its value and resumes
    nothing; CC 7 (unmapped) reaches the session and resumes thru; after a stop too."""
    config = Config()
    config.server.mode = "thru"
    engine, clock, sink = make_engine(config)
    engine.start()
    getattr(engine, halt)()
    engine.handle(ControlChange(1, 127, t=clock.t, source="osc:p:1"))
    assert [s.stopped_by for s in engine.sessions] == [halt] and engine.state["temperature"] == 2.0
    engine.handle(ControlChange(7, 100, t=clock.t, source="osc:p:1"))
    assert [s.stopped_by for s in engine.sessions] == [None] and not engine.state["panicked"]
    getattr(engine, halt)()
    engine.handle(NoteOn(60, 90, t=clock.t, source="osc:p:1"))
    assert [e.pitch for _, e in notes_on(sink)] == [60], "thru answers the note that resumed it"


# -- per-source sessions, controllers -----------------------------------------------------
def test_panic_is_global_and_each_session_resumes_by_its_own_rule():
    engine, clock, sink, port = make_model_engine("autopilot", server__sessions="per_source")
    engine.set_mode("autopilot", "osc:10.0.0.1:1")  # one player's session plays on its own
    engine.set_mode("harmonize", "osc:10.0.0.2:1")
    engine.handle(NoteOn(60, 100, t=clock.t, source="osc:10.0.0.2:1"))  # another's harmonizes
    engine.handle(NoteOff(60, t=clock.t, source="osc:10.0.0.2:1"))
    drive(engine, clock, port, 3.0)
    assert notes_on(sink)
    assert_silent_after_panic(engine, clock, port, sink, seconds=10.0)
    engine.handle(NoteOn(62, 100, t=clock.t, source="osc:10.0.0.2:1"))  # the harmonizer's player plays
    port.flush()
    answered = [e.pitch for _, e in notes_on(sink, clock.t)]
    assert 62 not in answered and len(answered) == 2, "the harmonizer answers the next note"
    engine.handle(NoteOff(62, t=clock.t, source="osc:10.0.0.2:1"))
    assert engine.state["panicked"], "the autopilot's session is still stopped by the panic"
    drive(engine, clock, port, 0.1)
    engine.handle(NoteOn(64, 100, t=clock.t, source="osc:10.0.0.3:1"))  # a newcomer, in autopilot mode
    engine.handle(NoteOff(64, t=clock.t, source="osc:10.0.0.3:1"))
    quiet = clock.t
    drive(engine, clock, port, 5.0, step=0.05)
    assert notes_on(sink, quiet) == [], "no session plays on its own until resumed"
    engine.set_mode("autopilot", "osc:10.0.0.1:1")
    assert engine.state["panicked"], "the newcomer's session is still stopped"
    resumed = clock.t
    drive(engine, clock, port, 5.0)
    assert notes_on(sink, resumed), "the player's mode command resumes their autopilot"
    engine.play()
    assert not engine.state["panicked"] and panicked_echoes(sink) == [True, False]
    assert all(s.stopped_by is None for s in engine.sessions) and len(engine.sessions) == 3


def test_a_cc_or_program_mapped_to_panic_and_play():
    maps = load_config(None, ['midi.cc_map={"20" = "panic"}', 'midi.program_map={"9" = "play"}']).midi
    engine, clock, sink, port = make_model_engine(
        "autopilot", midi__cc_map=maps.cc_map, midi__program_map=maps.program_map
    )
    drive(engine, clock, port, 3.0)
    engine.handle(ControlChange(20, 0, t=clock.t, source="midi:pads"))  # a button's release does nothing
    assert not engine.state["panicked"]
    engine.handle(ControlChange(20, 127, t=clock.t, source="midi:pads"))
    assert engine.state["panicked"] and sink.sounding() == set()
    quiet = clock.t
    drive(engine, clock, port, 5.0, step=0.05)
    assert notes_on(sink, quiet) == []
    engine.handle(ProgramChange(9, t=clock.t, source="midi:pads"))
    resumed = clock.t
    drive(engine, clock, port, 5.0)
    assert notes_on(sink, resumed) and not engine.state["panicked"]
