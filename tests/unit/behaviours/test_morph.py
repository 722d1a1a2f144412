"""Morph on the fake clock: captures on the 16th grid, the loop on bar lines, the knob as
a lookup, and no note left sounding by knob turns, captures, mode changes, stop or panic."""

from __future__ import annotations

import queue

import pytest
from fakes import Sink, make_model_engine, run_until, tiny_vae

from liveai.behaviours.morph_desk import Pattern
from liveai.behaviours.phrases import PhraseReader, captured, confined
from liveai.config.types import TRIGGERS
from liveai.control.handlers import definitions
from liveai.control.table import CommandTable
from liveai.core.commands import Request
from liveai.errors import CommandError
from liveai.events import ControlChange, NoteOff, NoteOn, ProgramChange, TransportStart, TransportStop
from liveai.models import melody
from liveai.music.note import Note

H, R = melody.HOLD, melody.REST
BEAT = 0.5  # 120 BPM
STEP = BEAT / 4


class Replies:
    def __init__(self):
        self.refused = []

    def reply(self, address, *args):
        pass

    def refuse(self, request, command, error):
        self.refused.append((command, error))


def morph_mode(engine):
    """The engine's morph mode: its commands and its desks, one per session."""
    return engine.behaviours.modes["morph"]


def morph_capture(engine, req, slot):
    morph_mode(engine).capture_command(engine, req, slot)


def morph_load(engine, req, slot, path):
    morph_mode(engine).load_command(engine, req, slot, path)


class Answers:
    """The phrase reader's post: its answers wait here until the test hands them to the loop."""

    def __init__(self):
        self.posted = queue.Queue()

    def __call__(self, call):
        self.posted.put(call)

    def deliver(self, timeout=10.0):
        try:
            call = self.posted.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no file read in {timeout} s") from None
        call()


def read(answers, port):
    """The file being read is read, and its answer delivered on the loop."""
    answers.deliver()
    port.flush()


def request(clock, source="osc:127.0.0.1:9000"):
    return Request(source, clock.t, Replies(), "127.0.0.1", 9000)


def advance(engine, clock, port, seconds, step=0.05):
    """Time passes as on the server: due events go out, the worker's answers come back."""
    end = clock.t + seconds
    while clock.t < end - 1e-9:
        run_until(engine, clock, min(end, clock.t + step))
        port.flush()


def play(engine, clock, port, pitches, beats_each=1.0, gate=0.9):
    for pitch in pitches:
        engine.handle(NoteOn(pitch, 80, t=clock.t, source="osc:127.0.0.1:9000"))
        advance(engine, clock, port, beats_each * BEAT * gate, step=0.01)
        engine.handle(NoteOff(pitch, t=clock.t, source="osc:127.0.0.1:9000"))
        advance(engine, clock, port, beats_each * BEAT * (1 - gate), step=0.01)


def notes_sent(sink, since=0.0):
    """(time, pitch) of the loop's note-ons since `since`."""
    return [(t, e.pitch) for t, e in sink.sent if isinstance(e, NoteOn) and e.velocity > 0 and t >= since]


@pytest.fixture
def answers():
    return Answers()


@pytest.fixture
def morph(answers):
    engine, clock, sink, port = make_model_engine("thru", vae=tiny_vae(), reader=PhraseReader(answers))
    return engine, clock, sink, port


def test_capture_while_the_clock_runs_takes_the_two_bars_its_bar_lines_cut(morph):
    engine, clock, sink, port = morph
    engine.play()
    advance(engine, clock, port, 4 * BEAT)  # a bar of count-in
    play(engine, clock, port, [60, 62, 64, 65, 67, 65, 64, 62], gate=0.6)  # two bars of quarters
    morph_capture(engine, request(clock), "a")
    desk = morph_mode(engine).desks["main"]
    tokens = list(desk.slots["a"].pattern.tokens)
    assert tokens[::4] == [60, 62, 64, 65, 67, 65, 64, 62]
    assert tokens[1:4] == [H, R, R]  # 60% of a quarter: 2.4 16ths, rounded to 2


def test_capture_with_the_clock_stopped_starts_on_the_phrase(morph):
    engine, clock, sink, port = morph
    advance(engine, clock, port, 0.37)
    play(engine, clock, port, [72, 71, 69], beats_each=2.0)
    morph_capture(engine, request(clock), "b")
    tokens = list(morph_mode(engine).desks["main"].slots["b"].pattern.tokens)
    assert tokens[0] == 72 and tokens[8] == 71 and tokens[16] == 69 and tokens[24:] == [R] * 8


def test_too_few_notes_are_refused_and_the_slot_is_unchanged(morph):
    engine, clock, sink, port = morph
    play(engine, clock, port, [60, 64])
    morph_capture(engine, request(clock), "a")
    before = morph_mode(engine).desks["main"].slots["a"].pattern
    advance(engine, clock, port, 10.0)
    play(engine, clock, port, [67])
    with pytest.raises(CommandError, match="at least 2 notes"):
        morph_capture(engine, request(clock), "a")
    assert morph_mode(engine).desks["main"].slots["a"].pattern == before


def test_morph_mode_with_both_slots_empty_says_so(morph):
    engine, *_ = morph
    with pytest.raises(CommandError, match="both empty"):
        engine.set_mode("morph")
    assert engine.state["mode"] == "thru"


def filled(morph):
    """Slot a: a rising C major line; slot b: a falling A minor one; the grid decoded."""
    engine, clock, sink, port = morph
    desk = morph_mode(engine).desk(engine.sessions.get("").ctx)
    a = [60, H, 62, H, 64, H, 65, H] * 4
    b = [69, H, H, H, 67, R, 64, H] * 4
    desk.capture("a", Pattern(tuple(a), 90))
    desk.capture("b", Pattern(tuple(b), 60))
    port.flush()
    assert len(desk.grid) == engine.config.morph.steps
    return desk, a, b


def test_the_loop_plays_slot_a_on_the_grid_and_switches_on_bar_lines(morph):
    engine, clock, sink, port = morph
    desk, a, b = filled(morph)
    engine.set_mode("morph")
    engine.play()
    start = clock.t
    advance(engine, clock, port, 8 * BEAT + 0.01)
    played = notes_sent(sink, start)
    beat0 = played[0][0]
    assert [p for _, p in played][:16] == [t for t in a if t < 128]
    for t, _ in played:  # every onset on the 16th grid of the clock's beats
        assert abs(((t - beat0) / STEP) - round((t - beat0) / STEP)) < 1e-6
    turned = clock.t + 0.6 * BEAT  # the knob turns mid-beat, mid-note
    advance(engine, clock, port, 0.6 * BEAT)
    engine.set_value("morph", 1.0)
    advance(engine, clock, port, 12 * BEAT)
    after = notes_sent(sink, turned)
    switched = next(t for t, p in after if p == 69)
    bar = round((switched - beat0) / (4 * BEAT), 6)
    assert bar == int(bar), "the new pattern starts on a bar line"
    assert all(p in (60, 62, 64, 65) for t, p in after if t < switched)
    engine.stop()
    assert sink.sounding() == set() and sink.stacked == 0


def test_a_position_between_grid_points_decodes_once_and_plays_the_nearest_meanwhile(morph):
    engine, clock, sink, port = morph
    desk, a, b = filled(morph)
    x = 0.53  # between 8/16 and 9/16
    nearest = desk.grid[round(x * 16)]
    assert desk.pattern_at(x) == nearest
    assert desk.pending is not None
    desk.pattern_at(x)
    jobs = port.jobs
    port.flush()
    assert port.jobs == jobs, "asked twice, decoded once"
    exact = desk.pattern_at(x)
    assert exact is desk.between[0.53] and len(exact.tokens) == melody.STEPS
    assert desk.pattern_at(0.5) is desk.grid[8]  # a grid point is a lookup
    assert desk.pattern_at(0.0).tokens == tuple(a) and desk.pattern_at(1.0).tokens == tuple(b)


def test_a_knob_turned_before_the_bar_line_plays_its_own_point_there(morph):
    engine, clock, sink, port = morph
    desk, a, b = filled(morph)
    engine.set_mode("morph")
    engine.play()
    advance(engine, clock, port, 1.5 * BEAT)  # into the first bar's second beat
    engine.set_value("morph", 0.53)  # between grid points 8 and 9
    bar = clock.t + 2.5 * BEAT
    advance(engine, clock, port, 2.5 * BEAT - 0.03)  # the bar is planned a pulse (21 ms) ahead
    assert engine.sessions.get("").behaviour.pattern is not desk.between.get(0.53), "not before the bar line"
    advance(engine, clock, port, 0.04)
    assert 0.53 in desk.between, "decoded while the bar played"
    assert engine.sessions.get("").behaviour.pattern is desk.between[0.53]
    advance(engine, clock, port, 4 * BEAT)
    expected = [t for t in desk.between[0.53].tokens[:16] if t < 128]
    assert [p for _, p in notes_sent(sink, bar)][: len(expected)] == expected
    engine.stop()
    assert sink.sounding() == set()


@pytest.mark.parametrize("steps", [17, 33])
def test_a_point_between_the_grid_changes_as_little_as_it_can_from_its_neighbours(morph, steps):
    engine, clock, sink, port = morph
    engine.config.morph.steps = steps
    desk, a, b = filled(morph)
    desk.grid = [Pattern(tuple([40 + i, H] * 16), 90) for i in range(steps)]  # every point its own
    engine.config.morph.lean = 1e9  # every step the model finds possible is allowed
    last = steps - 1
    for x in (0.03, 0.49, 0.51, 0.97, 0.99996):
        below = min(int(x * last), last - 1)
        desk.pattern_at(x)
        port.flush()
        tokens = desk.pattern_at(x).tokens
        for t, token in enumerate(tokens):  # each step its lower or its upper neighbour's
            assert token in (desk.grid[below].tokens[t], desk.grid[below + 1].tokens[t]), (x, t, token)


def test_nothing_hangs_under_knob_turns_captures_mode_changes_stop_and_panic(morph):
    engine, clock, sink, port = morph
    filled(morph)
    engine.set_mode("morph")
    engine.play()
    for i, x in enumerate([0.0, 0.3, 0.97, 0.5, 0.12, 1.0, 0.61]):
        advance(engine, clock, port, 1.37 * BEAT)
        engine.set_value("morph", x)
        if i == 2:
            for pitch in (70, 72):
                engine.handle(NoteOn(pitch, 90, t=clock.t))
                advance(engine, clock, port, STEP)
                engine.handle(NoteOff(pitch, t=clock.t))
            morph_capture(engine, request(clock), "b")  # a new phrase while the loop plays
        if i == 4:
            engine.set_mode("thru")
            assert sink.sounding() == set()
            engine.set_mode("morph")
        if i == 5:
            engine.panic()
            assert sink.sounding() == set()
    advance(engine, clock, port, 3 * BEAT)
    assert sink.stacked == 0
    engine.stop()
    assert sink.sounding() == set()
    advance(engine, clock, port, 4 * BEAT)
    assert sink.sounding() == set() and not engine.output.tracker.sounding


def test_load_confines_paths_to_the_folder(morph, answers, tmp_path):
    engine, clock, sink, port = morph
    engine.config.morph.folder = str(tmp_path / "phrases")
    (tmp_path / "secret.mid").write_bytes(b"MThd")
    for bad in ("../secret.mid", str(tmp_path / "secret.mid"), "/etc/passwd"):
        with pytest.raises(CommandError, match="inside") as refused:
            morph_load(engine, request(clock), "a", bad)
        assert refused.value.code == "bad_path"
    (tmp_path / "phrases" / "out.mid").symlink_to(tmp_path / "secret.mid")
    with pytest.raises(CommandError) as refused:
        morph_load(engine, request(clock), "a", "out.mid")
    assert refused.value.code == "bad_path"
    (tmp_path / "phrases" / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x00")
    asked = request(clock)
    morph_load(engine, asked, "a", "broken.mid")  # read off the loop: refused when read
    read(answers, port)
    assert [(command, error.code) for command, error in asked.replies.refused] == [("morph/load", "bad_file")]
    assert "a" not in morph_mode(engine).desks["main"].slots


def test_load_reads_the_first_two_bars_of_a_file(morph, answers, tmp_path):
    from liveai.data.midi import notes_to_midi

    engine, clock, sink, port = morph
    engine.config.morph.folder = str(tmp_path)
    notes = [Note(i * 0.5, i * 0.5 + 0.25, 60 + i, 100) for i in range(10)]  # 120 BPM quarters
    notes_to_midi(notes).write(str(tmp_path / "riff.mid"))
    morph_load(engine, request(clock), "b", "riff.mid")
    assert "b" not in morph_mode(engine).desks["main"].slots, "read off the loop"
    read(answers, port)
    tokens = morph_mode(engine).desks["main"].slots["b"].pattern.tokens
    assert list(tokens[::4]) == [60, 61, 62, 63, 64, 65, 66, 67] and tokens[2] == R


def test_loads_wait_their_turn_one_per_slot(morph, answers, tmp_path, monkeypatch):
    """One file is read at a time; a load asked meanwhile waits its turn (it was refused
    `busy`), one per slot: a later load of a slot takes the place of the one waiting. A
    capture made while a file is read wins over it."""
    import threading

    from liveai.behaviours import phrases
    from liveai.data.midi import notes_to_midi

    engine, clock, sink, port = morph
    engine.config.morph.folder = str(tmp_path)
    for name, low in (("riff.mid", 60), ("second.mid", 50), ("third.mid", 40)):
        notes_to_midi([Note(i * 0.5, i * 0.5 + 0.25, low + i, 100) for i in range(8)]).write(
            str(tmp_path / name)
        )
    desk, a, b = filled(morph)
    release, original = threading.Event(), phrases.read_phrase
    monkeypatch.setattr(phrases, "read_phrase", lambda path, name: (release.wait(5), original(path, name))[1])
    asked = [request(clock) for _ in range(3)]
    morph_load(engine, asked[0], "a", "riff.mid")  # being read
    morph_load(engine, asked[1], "b", "second.mid")  # waits
    morph_load(engine, asked[2], "b", "third.mid")  # takes second.mid's place
    desk.capture("a", Pattern(tuple([72, H] * 16), 80))  # a capture meanwhile
    release.set()
    read(answers, port)  # riff.mid
    read(answers, port)  # then third.mid
    assert [error.code for _, error in asked[0].replies.refused] == ["busy"]
    assert desk.slots["a"].pattern.tokens[0] == 72, "the capture stays"
    assert not asked[1].replies.refused and not asked[2].replies.refused
    assert desk.slots["b"].pattern.tokens[0] == 40, "the latest load of slot b"
    morph_load(engine, request(clock), "b", "riff.mid")  # the reader is free again
    read(answers, port)
    assert desk.slots["b"].pattern.tokens[0] == 60


def test_a_refused_path_names_the_folder_where_it_is(morph, tmp_path, monkeypatch):
    engine, clock, sink, port = morph
    monkeypatch.chdir(tmp_path)
    engine.config.morph.folder = "phrases"  # relative to the working directory, as by default
    for bad, says in (
        ("../x.mid", f"inside {tmp_path / 'phrases'} only"),
        ("none.mid", f"in {tmp_path / 'phrases'}"),
    ):
        with pytest.raises(CommandError) as refused:
            morph_load(engine, request(clock), "a", bad)
        assert says in refused.value.message


def test_confined_accepts_a_path_inside(tmp_path):
    (tmp_path / "sub").mkdir()
    assert confined(tmp_path, "sub/x.mid") == (tmp_path / "sub" / "x.mid").resolve()
    assert confined(tmp_path, str(tmp_path / "x.mid")) == (tmp_path / "x.mid").resolve()


def test_captured_refuses_silence():
    with pytest.raises(CommandError, match="nothing to capture"):
        captured([], 10.0, BEAT, None)


def test_the_commands_are_in_the_table_and_mqtt_names_them_both_ways(morph):
    engine, clock, sink, port = morph
    table = CommandTable(engine, definitions(engine.behaviours.commands()))
    play(engine, clock, port, [60, 62, 64])
    table.dispatch_text("morph_capture", "a", request(clock, "mqtt"))
    table.dispatch_text("morph/capture", "b", request(clock, "mqtt"))
    assert set(morph_mode(engine).desks["main"].slots) == {"a", "b"}


def test_a_midi_cc_or_program_captures_when_mapped():
    engine, clock, sink, port = make_model_engine(
        "thru", vae=tiny_vae(), midi__cc_map={"20": "capture_a"}, midi__program_map={"9": "capture_b"}
    )
    play(engine, clock, port, [60, 62, 64])
    engine.handle(ControlChange(20, 0, t=clock.t))  # a button's release captures nothing
    assert "main" not in morph_mode(engine).desks
    engine.handle(ControlChange(20, 127, t=clock.t))
    engine.handle(ProgramChange(9, t=clock.t))
    assert set(morph_mode(engine).desks["main"].slots) == {"a", "b"}


@pytest.mark.parametrize("action", TRIGGERS)
def test_every_action_a_cc_may_be_mapped_to_is_done(action):
    """What config accepts in `midi.cc_map` (config.types.TRIGGERS) is what the engine
    and the registry do: none is accepted and then refused when the button is pressed."""
    engine, clock, sink, port = make_model_engine("thru", vae=tiny_vae(), midi__cc_map={"20": action})
    learnings: list[object] = []

    class Learning:  # the server's (liveai.live), which the engine asks to learn
        def learn(self, request=None):
            learnings.append(request)

    engine.learning = Learning()  # type: ignore[assignment]
    play(engine, clock, port, [60, 62, 64])
    if action == "stop":
        engine.play()
    engine.handle(ControlChange(20, 127, t=clock.t))
    playing, desk = engine.conductor.clock.playing, morph_mode(engine).desks.get("main")
    done = {
        "panic": engine.state["panicked"],
        "play": playing,
        "stop": not playing,
        "learn": learnings == [None],
    }
    assert done.get(action, desk is not None and action.removeprefix("capture_") in desk.slots)
    assert engine.stats.counters["internal_errors"] == 0


def test_a_tempo_jump_never_puts_an_off_before_its_on(morph):
    engine, clock, sink, port = morph
    filled(morph)
    engine.set_mode("morph")
    engine.set_value("tempo", 60)
    engine.play()
    for bpm in (240, 60, 300, 20, 200, 60, 240):
        beat = engine.conductor.clock.last_beat
        # just after a beat: its 16ths are planned at the old tempo
        while engine.conductor.clock.last_beat == beat:
            advance(engine, clock, port, 0.005, step=0.005)
        engine.set_value("tempo", bpm)
        advance(engine, clock, port, 0.3)
    advance(engine, clock, port, 2.0)
    engine.set_mode("thru")  # a mode change (not stop, not panic) must end everything
    assert sink.sounding() == set() and not engine.output.tracker.sounding and sink.stacked == 0


def test_a_midi_clock_that_stops_without_a_word_leaves_nothing_sounding():
    from liveai.events import ClockTick, TransportStart

    engine, clock, sink, port = make_model_engine("thru", vae=tiny_vae(), clock__source="midi")
    filled((engine, clock, sink, port))
    engine.set_mode("morph")
    engine.handle(TransportStart(t=clock.t))
    for _ in range(24 * 5 + 7):  # five beats and a bit of a DAW at 120 BPM, then silence
        engine.handle(ClockTick(t=clock.t))
        advance(engine, clock, port, 0.5 / 24, step=0.5 / 24)
    assert [e for e in sink.events() if isinstance(e, NoteOn)], "the loop played"
    advance(engine, clock, port, 3.0)
    assert sink.sounding() == set()


def test_a_capture_takes_the_keys_as_played_under_the_pedal(morph):
    """Held by the sustain pedal, a falling line overlaps itself; the capture hears the
    keys, so every note is in it (the top voice would drop each lower note under a held one)."""
    from liveai.events import ControlChange

    engine, clock, sink, port = morph
    engine.handle(ControlChange(64, 127, t=clock.t))
    play(engine, clock, port, [72, 71, 69, 67, 65, 64], gate=0.8)
    engine.handle(ControlChange(64, 0, t=clock.t))
    morph_capture(engine, request(clock), "a")
    tokens = morph_mode(engine).desks["main"].slots["a"].pattern.tokens
    assert [t for t in tokens if t < 128] == [72, 71, 69, 67, 65, 64]


def test_names_the_filesystem_refuses_are_bad_paths_not_crashes(morph, tmp_path):
    engine, clock, sink, port = morph
    engine.config.morph.folder = str(tmp_path)
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    for bad in ("a\x00b.mid", "x" * 300 + ".mid", "loop"):
        with pytest.raises(CommandError) as refused:
            morph_load(engine, request(clock), "a", bad)
        assert refused.value.code == "bad_path", bad
    (tmp_path / "huge.mid").write_bytes(b"MThd" + bytes(300_000))
    with pytest.raises(CommandError, match="more than a phrase"):
        morph_load(engine, request(clock), "a", "huge.mid")


def looping(morph):
    """Both slots filled, the loop playing from slot a: the time of its first note (beat 0)."""
    engine, clock, sink, port = morph
    filled(morph)
    engine.set_mode("morph")
    engine.play()
    advance(engine, clock, port, 0.02, step=0.001)
    return notes_sent(sink)[0][0]


def queued_note_ons(engine):
    """Times of the note-ons waiting on the scheduler."""
    return sorted(
        at
        for at, _, item in engine.output.scheduler._heap
        if isinstance(getattr(item, "event", None), NoteOn)
    )


def test_each_beat_is_on_its_timers_before_it_begins(morph):
    """Lookahead: a beat's 16ths are scheduled a pulse before it, from its exact time."""
    engine, clock, sink, port = morph
    beat0 = looping(morph)
    for n in (1, 2, 5):
        beat = beat0 + n * BEAT
        run_until(engine, clock, beat - 0.005)
        assert queued_note_ons(engine)[:2] == pytest.approx([beat, beat + 2 * STEP], abs=1e-9)
    engine.stop()
    assert sink.sounding() == set()


def test_the_loop_lands_on_the_grid_a_jittery_midi_clock_fits():
    """Ticks 0.8 ms early and late in turn: the loop's notes follow the fitted tempo line,
    not the tick that carries each beat."""
    from liveai.events import ClockTick, TransportStart

    engine, clock, sink, port = make_model_engine("thru", vae=tiny_vae(), clock__source="midi")
    filled((engine, clock, sink, port))
    engine.set_mode("morph")
    engine.handle(TransportStart(t=clock.t))
    origin = clock.t
    period = BEAT / 24
    for i in range(1, 24 * 8 + 1):
        run_until(engine, clock, origin + i * period + (0.0008 if i % 2 else -0.0008))
        engine.handle(ClockTick(t=clock.t))
        port.flush()
    beat0 = origin + period  # the first tick after Start
    late = [(t, p) for t, p in notes_sent(sink) if t > beat0 + 3 * BEAT - 1e-3]  # two beats of ticks fitted
    assert len(late) >= 8
    for t, _ in late:
        assert abs((t - beat0) / STEP - round((t - beat0) / STEP)) * STEP < 0.0002
    engine.handle(TransportStop(t=clock.t))
    assert sink.sounding() == set()


def test_a_beat_that_comes_off_its_prediction_is_planned_again_from_its_real_time():
    """A long lookahead announces beats 190 ms ahead at 120 BPM; the tempo drops to 60
    after an announcement, so the beat comes later: the conductor says so and its notes
    move to it before any sounds, none twice."""
    engine, clock, sink, port = make_model_engine("thru", vae=tiny_vae(), clock__lookahead_ms=190.0)
    filled((engine, clock, sink, port))
    engine.set_mode("morph")
    engine.play()
    advance(engine, clock, port, 0.2, step=0.001)  # play starts a lookahead ahead
    beat0 = notes_sent(sink)[0][0]
    run_until(engine, clock, beat0 + 2 * BEAT - 0.1)  # beat 2 is announced for beat0 + 1 s
    assert queued_note_ons(engine)[0] == pytest.approx(beat0 + 2 * BEAT, abs=1e-9)
    engine.set_value("tempo", 60)
    advance(engine, clock, port, 2.0, step=0.005)
    beat2 = next(t for t, _ in notes_sent(sink, beat0 + 2 * BEAT - 0.05))
    assert beat2 > beat0 + 2 * BEAT + 0.04, "the planned notes were taken back"
    pitches = [p for _, p in notes_sent(sink, beat2 - 1e-9)][:4]
    assert pitches == [60, 62, 64, 65]  # beats 2 and 3 of slot a, each note once
    engine.stop()
    assert sink.sounding() == set() and sink.stacked == 0


def test_a_midi_clock_that_jumps_tempo_gets_its_beat_replanned_on_the_tick():
    """A DAW jumps from 120 to 180 BPM: the next beat comes a tick's difference (7 ms)
    before its prediction, and the loop's notes of that beat start on it, none twice."""
    from liveai.events import ClockTick, TransportStart

    engine, clock, sink, port = make_model_engine("thru", vae=tiny_vae(), clock__source="midi")
    filled((engine, clock, sink, port))
    engine.set_mode("morph")
    engine.handle(TransportStart(t=clock.t))
    ticks = [clock.t + i * BEAT / 24 for i in range(1, 24 * 4 + 1)]  # four beats at 120
    ticks += [ticks[-1] + i * BEAT / 36 for i in range(1, 24 * 3 + 1)]  # then three at 180
    for at in ticks:
        run_until(engine, clock, at)
        engine.handle(ClockTick(t=at))
        port.flush()
    jumped = ticks[24 * 4]  # the tick carrying the first beat at 180
    first = [t for t, _ in notes_sent(sink, jumped - 0.02)][0]
    assert first == pytest.approx(jumped, abs=1e-9)
    engine.handle(TransportStop(t=clock.t))
    assert sink.sounding() == set() and sink.stacked == 0


def test_a_knob_turned_in_the_bars_last_beat_plays_its_own_point_at_the_bar_line(morph):
    """The turn itself starts the decode: it does not wait for a beat to ask."""
    engine, clock, sink, port = morph
    desk, a, b = filled(morph)
    engine.set_mode("morph")
    engine.play()
    advance(engine, clock, port, 0.02, step=0.001)
    beat0 = notes_sent(sink)[0][0]
    bar = beat0 + 4 * BEAT
    run_until(engine, clock, bar - 0.3 * BEAT)  # the bar's last beat, its plan made
    engine.set_value("morph", 0.53)
    advance(engine, clock, port, 0.3 * BEAT + 0.01, step=0.01)
    assert engine.sessions.get("").behaviour.pattern is desk.between[0.53]
    advance(engine, clock, port, 4 * BEAT)
    expected = [t for t in desk.between[0.53].tokens[:16] if t < 128]
    assert [p for _, p in notes_sent(sink, bar - 1e-9)][: len(expected)] == expected
    engine.stop()
    assert sink.sounding() == set()


@pytest.mark.parametrize("into_beat", [-0.005, 0.125, 0.6])
def test_the_transport_started_again_takes_back_the_beats_it_had_planned(morph, into_beat):
    """A DAW's Start near beat 2 (a running transport starts again from its beat 0):
    before it (beat 2 planned), an eighth into it, or past its middle (its later 16ths
    queued). What was queued of the old run never sounds: from beat 0 on, only slot a
    from its top. (`/liveai/play` on a running transport keeps its count instead.)"""
    engine, clock, sink, port = morph
    beat0 = looping(morph)
    run_until(engine, clock, beat0 + (2 + into_beat) * BEAT)
    restart = clock.t
    engine.handle(TransportStart(t=restart))
    advance(engine, clock, port, 2.5 * BEAT, step=0.01)
    after = notes_sent(sink, restart + 1e-6)
    first = after[0][0]
    assert [p for _, p in after][:4] == [60, 62, 64, 65], after
    assert all(abs((t - first) / (2 * STEP) - round((t - first) / (2 * STEP))) < 1e-6 for t, _ in after), (
        "every note on the new run's grid"
    )
    engine.stop()
    assert sink.sounding() == set() and sink.stacked == 0


def test_a_knob_sweep_decodes_where_the_knob_stopped(morph):
    """A CC sweep sends many positions while one decode runs: the last is decoded next,
    without waiting for a beat to ask."""
    engine, clock, sink, port = morph
    desk, a, b = filled(morph)
    for x in (0.51, 0.52, 0.53):  # all before the first decode comes back
        desk.pattern_at(x)
    port.flush()  # 0.51 returns and asks for 0.53
    port.flush()
    assert 0.51 in desk.between and 0.53 in desk.between and 0.52 not in desk.between


def test_the_loop_reaches_an_output_with_a_latency_that_much_early(morph):
    """Latency compensation of a clock-driven part: the loop is planned the latency further
    ahead, so every note reaches the sink of that lead exactly that much before the others."""
    engine, clock, sink, port = morph
    lead = Sink(clock)
    engine.output.add_sink(lead, 0.1)
    filled(morph)
    engine.set_mode("morph")
    engine.play()
    advance(engine, clock, port, 8 * BEAT)
    engine.set_value("morph", 1.0)
    advance(engine, clock, port, 8 * BEAT)
    engine.stop()
    plain, early = notes_sent(sink), notes_sent(lead)
    assert len(plain) >= 16 and [p for _, p in early] == [p for _, p in plain]
    assert max(abs(e - (t - 0.1)) for (t, _), (e, _) in zip(plain, early)) < 1e-9
    assert lead.sounding() == set() and lead.stacked == 0
