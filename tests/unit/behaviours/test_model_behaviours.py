"""Model behaviours with a fake clock and a small real (untrained) model run inline:
harmonize with a budget and its fallback, duet answers that yield, the autopilot."""

from __future__ import annotations

from fakes import Sink, make_model_engine, run_until

from liveai.events import NoteOff, NoteOn
from liveai.music.scales import Scale


def notes_on(sink, after: float = 0.0):
    return [(t, e) for t, e in sink.sent if isinstance(e, NoteOn) and t >= after]


def test_model_harmonize_answers_in_key_and_register_and_releases():
    engine, clock, sink, port = make_model_engine("harmonize", harmonize__voices=3)
    engine.set_key("A", "minor")
    engine.set_register(48, 84)
    engine.handle(NoteOn(57, 90, t=clock.t, source="osc:p:1"))
    assert notes_on(sink) == []  # the answer is still "computing"
    port.flush()
    voices = [e.pitch for _, e in notes_on(sink)]
    scale = Scale("A", "minor")
    assert len(voices) == 3 and len(set(voices)) == 3 and 57 not in voices
    assert all(v in scale and 48 <= v <= 84 for v in voices)
    assert all(e.velocity == round(90 * 0.85) for _, e in notes_on(sink))  # harmonize.velocity
    engine.handle(NoteOff(57, t=clock.t, source="osc:p:1"))
    port.flush()
    assert sink.sounding() == set()
    assert engine.stats.counters["deadline_misses"] == 0


def test_a_late_model_answer_is_replaced_by_the_rule_and_counted():
    engine, clock, sink, port = make_model_engine("harmonize")
    engine.handle(NoteOn(60, 100, t=clock.t, source="osc:p:1"))
    run_until(engine, clock, clock.t + 0.006)  # past the 5 ms budget: the timer fires
    assert [e.pitch for _, e in notes_on(sink)] == [64, 67]  # the rule's C major triad
    assert engine.stats.counters["deadline_misses"] == 1
    port.flush()  # the model's answer arrives late and is dropped
    assert [e.pitch for _, e in notes_on(sink)] == [64, 67]
    engine.handle(NoteOff(60, t=clock.t, source="osc:p:1"))
    assert sink.sounding() == set()


def play_phrase(engine, clock, port, pitches, step=0.25):
    for pitch in pitches:
        engine.handle(NoteOn(pitch, 80, t=clock.t, source="osc:p:1"))
        port.flush()
        run_until(engine, clock, clock.t + step * 0.9)
        engine.handle(NoteOff(pitch, t=clock.t, source="osc:p:1"))
        port.flush()
        run_until(engine, clock, clock.t + step * 0.1)


def drive(engine, clock, port, seconds, step=0.01):
    end = clock.t + seconds
    while clock.t < end:
        port.flush()
        run_until(engine, clock, clock.t + step)
    port.flush()


def on_grid(t: float, anchor: float, period: float) -> bool:
    x = (t - anchor) / period
    return abs(x - round(x)) * period < 0.006


def test_duet_answers_after_the_phrase_gap_on_the_calls_pulse_and_ends_every_note():
    engine, clock, sink, port = make_model_engine("duet")
    call_start = clock.t
    play_phrase(engine, clock, port, [60, 62, 64, 65, 67, 65, 64, 62])  # 2 s of notes every 0.25 s
    phrase_end = clock.t
    drive(engine, clock, port, 0.55)
    assert notes_on(sink) == []  # the gap (600 ms) is not over
    drive(engine, clock, port, 0.2)
    first = notes_on(sink)
    assert first, "an answer must start once the gap is over"
    gap_end = phrase_end + 0.6 - 0.025  # the last note-off came 0.025 s before phrase_end
    assert first[0][0] - gap_end < 0.25 + 0.03  # on the next grid point (lookahead 10 ms)
    drive(engine, clock, port, 3.0)
    answer = notes_on(sink)
    assert all(on_grid(t, call_start, 0.25) for t, _ in answer), [t - call_start for t, _ in answer]
    assert answer[-1][0] - first[0][0] <= 2.0 + 0.01  # about as long as the phrase
    assert sink.sounding() == set()  # every answer note ended
    assert engine.stats.counters["deadline_misses"] == 0


def test_duet_yields_at_once_when_the_player_plays_again():
    engine, clock, sink, port = make_model_engine("duet", duet__min_response_s=4.0)
    play_phrase(engine, clock, port, [60, 64, 67, 72])
    drive(engine, clock, port, 1.0)
    assert notes_on(sink)
    engine.handle(NoteOn(48, 100, t=clock.t, source="osc:p:1"))  # the player comes back
    answer_sounding = {(c, p) for c, p in sink.sounding() if p != 48}
    assert answer_sounding == set()
    before = len(notes_on(sink))
    drive(engine, clock, port, 4.0)
    assert len(notes_on(sink)) == before  # nothing of the old answer comes later
    engine.handle(NoteOff(48, t=clock.t, source="osc:p:1"))


def test_continue_answers_now_for_the_beats_asked():
    engine, clock, sink, port = make_model_engine("duet")
    engine.set_value("tempo", 120)
    play_phrase(engine, clock, port, [60, 62, 64])
    start = clock.t
    engine.continue_(2.0, "osc:p:1")  # two beats at 120 BPM: one second
    drive(engine, clock, port, 2.0)
    onsets = [t for t, _ in notes_on(sink)]
    # at once: on the next point of the phrase's grid (0.25 s)
    assert onsets and onsets[0] - start < 0.25 + 0.02 and onsets[-1] - onsets[0] <= 1.0
    assert sink.sounding() == set()


def test_autopilot_plays_on_its_own_and_follows_density():
    engine, clock, sink, port = make_model_engine("autopilot")
    drive(engine, clock, port, 10.0)
    assert len(notes_on(sink)) > 5
    engine.set_value("density", 1.0)
    t_dense = clock.t
    drive(engine, clock, port, 20.0)
    dense = len(notes_on(sink, t_dense + 10)) / 10
    engine.set_value("density", 0.0)
    t_sparse = clock.t
    drive(engine, clock, port, 20.0)
    sparse = len(notes_on(sink, t_sparse + 10)) / 10
    assert dense > 2 * sparse, (dense, sparse)


def test_autopilot_keeps_to_key_and_register_steered_live():
    engine, clock, sink, port = make_model_engine("autopilot")
    engine.set_key("D", "dorian")
    engine.set_register(60, 72)
    t0 = clock.t + engine.config.autopilot.horizon_s + 0.1  # what was generated before is let be
    drive(engine, clock, port, 8.0)
    pitches = [e.pitch for _, e in notes_on(sink, t0)]
    scale = Scale("D", "dorian")
    assert pitches and all(60 <= p <= 72 and p in scale for p in pitches)


def test_every_answer_leaves_the_model_hearing_its_notes_ended():
    """Notes an answer began and did not end itself (cut by its end, or by the player
    coming back) are fed as note-offs: otherwise the model and its sampler believe them
    sounding for ever, and the polyphony limit silences later answers."""
    engine, clock, sink, port = make_model_engine("duet", duet__min_response_s=0.5, duet__max_response_s=1.0)
    session = engine.sessions.get("osc:p:1")
    sampler = session.ears.sampler
    for round_ in range(12):
        play_phrase(engine, clock, port, [60, 64, 67, 72][: 2 + round_ % 3])
        drive(engine, clock, port, 0.6 + 0.5 * (round_ % 2))  # half the answers are cut by the player
        engine.handle(NoteOn(48, 100, t=clock.t, source="osc:p:1"))
        engine.handle(NoteOff(48, t=clock.t, source="osc:p:1"))
        drive(engine, clock, port, 0.05)
        assert sampler.tracker.sounding == set(), (
            f"round {round_}: the model believes {sampler.tracker.sounding} sound"
        )
    assert sink.sounding() == set()


def test_an_answer_cut_before_its_first_chunk_arrived_leaves_no_note_in_the_model():
    """The player comes back while the answer's first chunk (sampled, fed, its reply
    on the way) has not reached the loop: its notes never reach the Part, yet the model
    heard them begin. They must end for the model too; the player's own key stays."""
    engine, clock, sink, port = make_model_engine("duet")
    sampler = engine.sessions.get("osc:p:1").ears.sampler
    for _ in range(3):
        play_phrase(engine, clock, port, [60, 64, 67])
        run_until(engine, clock, clock.t + 0.62)  # the gap ends: a chunk is sampled, its reply waits
        assert port.pending and sampler.tracker.sounding
        engine.handle(NoteOn(72, 100, t=clock.t, source="osc:p:1"))  # the player is back first
        drive(engine, clock, port, 0.05)
        assert sampler.tracker.sounding == {72}, "only the key the player holds sounds for the model"
        engine.handle(NoteOff(72, t=clock.t, source="osc:p:1"))
        drive(engine, clock, port, 0.05)
        assert sampler.tracker.sounding == set()
    assert sink.sounding() == set()


def test_with_a_clock_running_the_answer_keeps_to_its_beats():
    """The transport runs at 120 BPM; the player plays eighths 0.13 s off its beats: the
    answer's notes begin on the clock's eighths, not on the player's phase."""
    engine, clock, sink, port = make_model_engine("duet", duet__answer_on_bar=False)
    engine.set_value("tempo", 120)
    engine.play()
    drive(engine, clock, port, 1.13)
    beat_t = engine.conductor.clock.last_beat[1]
    call_start = clock.t
    play_phrase(engine, clock, port, [60, 62, 64, 65, 67, 65, 64, 62], step=0.25)
    drive(engine, clock, port, 3.0)
    answer = notes_on(sink, call_start + 2.0)
    assert len(answer) >= 3
    assert all(on_grid(t, beat_t, 0.25) for t, _ in answer), [round(t - beat_t, 3) for t, _ in answer]
    assert sink.sounding() == set()


def test_a_phrase_too_short_for_a_pulse_is_answered_on_the_grid_of_the_last_seconds():
    """A phrase, a pause the gap ends, then one more note: that note alone shows no
    pulse, so its answer keeps to the grid of what the player played just before."""
    engine, clock, sink, port = make_model_engine("duet", duet__min_response_s=0.5, duet__max_response_s=0.5)
    call_start = clock.t
    play_phrase(engine, clock, port, [60, 62, 64, 65, 67, 65], step=0.3)
    drive(engine, clock, port, 1.5)  # answered
    run_until(engine, clock, call_start + 14 * 0.3)  # the player comes back on their grid
    engine.handle(NoteOn(67, 80, t=clock.t, source="osc:p:1"))
    port.flush()
    run_until(engine, clock, clock.t + 0.2)
    engine.handle(NoteOff(67, t=clock.t, source="osc:p:1"))
    after = clock.t
    drive(engine, clock, port, 2.0)
    answer = notes_on(sink, after)
    assert answer
    assert all(on_grid(t, call_start, 0.3) for t, _ in answer), [round(t - call_start, 3) for t, _ in answer]


def test_a_bar_triggered_answer_begins_on_the_bar_line():
    """The transport runs at 120 BPM; a phrase ends just before a bar line, too late for
    the phrase gap: the bar answers it, and the answer's first note is on that bar line,
    not an eighth after it."""
    engine, clock, sink, port = make_model_engine("duet")
    engine.set_value("tempo", 120)
    engine.play()
    drive(engine, clock, port, 0.26)
    n, beat_t = engine.conductor.clock.last_beat
    bar_t = beat_t + (4 - n % 4) * 0.5  # the next bar line, 2 s a bar
    call_start = clock.t
    play_phrase(engine, clock, port, [60, 62, 64, 65, 67], step=0.25)
    assert clock.t < bar_t < clock.t + 0.6  # the gap would end after the bar
    drive(engine, clock, port, 1.5)
    answer = notes_on(sink, call_start + 1.25)
    assert answer
    assert abs(answer[0][0] - bar_t) < 0.02, (round(answer[0][0], 3), round(bar_t, 3))


def test_a_duet_answer_reaches_an_output_with_a_latency_that_much_early_from_its_first_note():
    """The answer begins the latency later, so no note of it is late there (nor bunched)."""
    engine, clock, sink, port = make_model_engine("duet")
    late = Sink(clock)
    engine.output.add_sink(late, 0.4)  # more than the call's grid (0.25 s)
    play_phrase(engine, clock, port, [60, 62, 64, 65, 67, 65, 64, 62])
    drive(engine, clock, port, 3.0)
    answer, early = notes_on(sink), notes_on(late)  # the player's own notes are not played
    assert len(answer) >= 4 and [e.pitch for _, e in early] == [e.pitch for _, e in answer]
    assert max(abs(e - (t - 0.4)) for (t, _), (e, _) in zip(answer, early)) < 1e-9
    assert late.sounding() == set() and late.stacked == 0
