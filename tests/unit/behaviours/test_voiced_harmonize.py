"""Harmonize with the harmony model, on a fake clock with a tiny untrained model run
inline: constraints, velocity, the budget's rule fallback, and which harmonizer
`harmonize.by` gives."""

from __future__ import annotations

from fakes import make_model_engine, run_until, tiny_harmony

from liveai.behaviours.harmonize import ModelHarmonizer
from liveai.behaviours.rule_harmonize import RuleHarmonizer
from liveai.behaviours.voiced import VoicedHarmonizer
from liveai.events import NoteOff, NoteOn
from liveai.music.scales import Scale
from liveai.music.voicing import consonant


def answered(sink, melody: int) -> list[NoteOn]:
    return [e for _, e in sink.sent if isinstance(e, NoteOn) and e.pitch != melody]


def test_voices_keep_key_register_count_and_follow_the_players_velocity():
    engine, clock, sink, port = make_model_engine("harmonize", harmony=tiny_harmony(), harmonize__voices=2)
    engine.set_key("A", "minor")
    engine.set_register(48, 84)
    scale = Scale("A", "minor")
    for melody, velocity in ((69, 40), (72, 110), (76, 90), (74, 64)):
        sink.sent.clear()
        engine.handle(NoteOn(melody, velocity, t=clock.t, source="osc:p:1"))
        port.flush()
        voices = answered(sink, melody)
        pitches = [e.pitch for e in voices]
        assert len(set(pitches)) == 2 and all(p in scale and 48 <= p <= 84 and p < melody for p in pitches)
        assert consonant([melody, *pitches])
        assert all(e.velocity == round(velocity * 0.85) for e in voices)  # harmonize.velocity's default
        engine.handle(NoteOff(melody, t=clock.t, source="osc:p:1"))
        port.flush()
        assert sink.sounding() == set()
    assert engine.stats.counters["deadline_misses"] == 0


def test_a_late_answer_is_the_rules_and_counted():
    engine, clock, sink, port = make_model_engine("harmonize", harmony=tiny_harmony())
    engine.handle(NoteOn(60, 100, t=clock.t, source="osc:p:1"))
    run_until(engine, clock, clock.t + 0.006)  # past the 5 ms budget
    assert [e.pitch for e in answered(sink, 60)] == [55, 52]  # the rule's C major triad, under the melody
    assert engine.stats.counters["deadline_misses"] == 1
    port.flush()  # the model's answer comes too late and is dropped
    assert [e.pitch for e in answered(sink, 60)] == [55, 52]
    engine.handle(NoteOff(60, t=clock.t, source="osc:p:1"))
    assert sink.sounding() == set()


def test_a_late_answer_stays_under_the_melody_in_the_register_with_the_voices_asked():
    for voices in (1, 2, 3):
        for low in (36, 50, 58):
            engine, clock, sink, port = make_model_engine(
                "harmonize", harmony=tiny_harmony(), harmonize__voices=voices
            )
            engine.set_key("B", "major")
            engine.set_register(low, 96)
            scale = Scale("B", "major")
            for melody in (59, 61, 63, 64, 66, 68, 70, 71):
                sink.sent.clear()
                engine.handle(NoteOn(melody, 90, t=clock.t, source="osc:p:1"))
                run_until(engine, clock, clock.t + 0.006)  # past the budget: the rule answers
                pitches = [e.pitch for e in answered(sink, melody)]
                assert all(low <= p <= 96 and p % 12 in scale.pitch_classes for p in pitches), (
                    melody,
                    pitches,
                )
                if melody - low >= 12:  # room under the note: all the voices asked, all under it
                    assert len(pitches) == voices and all(p < melody for p in pitches), (melody, pitches)
                    assert consonant([melody, *pitches]), (melody, pitches)
                assert pitches, (melody, low)  # at the register's floor: voiced above, inside it
                port.flush()
                engine.handle(NoteOff(melody, t=clock.t, source="osc:p:1"))
            assert engine.stats.counters["deadline_misses"] == 8


def test_by_chooses_the_harmonizer_and_harmony_without_its_model_asks_the_continuation_model():
    for by, harmony, kind in (
        ("harmony", tiny_harmony(), VoicedHarmonizer),
        ("harmony", None, ModelHarmonizer),
        ("continuation", tiny_harmony(), ModelHarmonizer),
        ("rule", tiny_harmony(), RuleHarmonizer),
    ):
        engine, *_ = make_model_engine("harmonize", harmony=harmony, harmonize__by=by)
        behaviour = engine.sessions.get("osc:p:1").behaviour
        assert type(behaviour) is kind, by


def test_no_voice_sounds_on_a_key_the_player_holds():
    import torch

    model = tiny_harmony(voicings=((12,), (7,), (5,)))
    torch.nn.init.zeros_(model.head.weight)
    torch.nn.init.zeros_(model.head.bias)  # no preference: without the mask the octave is often chosen
    for seed in range(12):
        engine, clock, sink, port = make_model_engine(
            "harmonize", harmony=model, harmonize__voices=1, model__seed=seed
        )
        engine.handle(NoteOn(60, 90, t=clock.t, source="osc:p:1"))  # held: C4
        port.flush()
        sink.sent.clear()
        engine.handle(NoteOn(72, 90, t=clock.t, source="osc:p:1"))  # C5 over it
        port.flush()
        assert [e.pitch for e in answered(sink, 72)] in ([65], [67]), seed  # F4 or G4, never C4
        assert engine.stats.counters["deadline_misses"] == 0


def test_a_chord_that_came_too_late_to_sound_is_not_led_from():
    import torch

    # C5 after C4: E3 G3 moves no voice from the rule's G3 E3 that sounded under C4; C3 G3
    # moves least from either chord the model chose under C4 (E2 G2 or C2 G2) and came late
    model = tiny_harmony(voicings=((20, 17), (24, 17)))
    torch.nn.init.zeros_(model.head.weight)
    torch.nn.init.zeros_(model.head.bias)  # no preference: voice leading decides
    for seed in range(8):
        engine, clock, sink, port = make_model_engine(
            "harmonize", harmony=model, harmonize__voices=2, model__seed=seed
        )
        engine.handle(NoteOn(60, 90, t=clock.t, source="osc:p:1"))
        run_until(engine, clock, clock.t + 0.006)  # past the budget: the rule's triad sounds
        port.flush()  # the model's chord comes too late and is dropped
        assert [e.pitch for e in answered(sink, 60)] == [55, 52]
        engine.handle(NoteOff(60, t=clock.t, source="osc:p:1"))
        sink.sent.clear()
        engine.handle(NoteOn(72, 90, t=clock.t, source="osc:p:1"))
        port.flush()
        assert sorted(e.pitch for e in answered(sink, 72)) == [52, 55], seed


def test_the_beat_counts_bars_in_the_duets_meter():
    from liveai.models.harmony import beat_of

    for meter in (3, 4):
        engine, clock, sink, port = make_model_engine(
            "harmonize", harmony=tiny_harmony(), duet__beats_per_bar=meter
        )
        behaviour = engine.sessions.get("osc:p:1").behaviour
        seen = []
        voice = behaviour.voicer.voice
        behaviour.voicer.voice = lambda ask, seen=seen, voice=voice: seen.append(ask.onset_q) or voice(ask)
        transport = engine.conductor.clock
        transport.start()
        beat_s = 60.0 / transport.bpm(clock.t)
        start = clock.t
        for n in range(1, 13):
            transport.mark_beat(n - 1, start + (n - 1) * beat_s)
            clock.t = start + (n - 0.01) * beat_s  # a hair before beat n: on it all the same
            engine.handle(NoteOn(72, 90, t=clock.t, source="osc:p:1"))
            port.flush()
            engine.handle(NoteOff(72, t=clock.t, source="osc:p:1"))
        assert [n for n, q in enumerate(seen, 1) if beat_of(q) == 0] == list(range(meter, 13, meter)), meter
        assert all(beat_of(q) == 1 for n, q in enumerate(seen, 1) if n % meter)
