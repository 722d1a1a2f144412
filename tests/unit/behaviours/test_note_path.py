"""One path for a note: the session's ears hear each played note exactly once, and the
keys the player holds are one record that the model, the harmonizer and the duet read
alike (through the pedal, a re-strike, a note-off from another socket, a lost input)."""

from __future__ import annotations

import pytest
from fakes import make_model_engine, tiny_harmony

from liveai.behaviours import jobs
from liveai.events import ControlChange, InputLost, NoteOff, NoteOn
from liveai.models import codec
from liveai.models.voicer import Voicer

A, A2, KEYS = "osc:10.0.0.1:1", "osc:10.0.0.1:2", "midi:keys"  # A2: A's host from another socket


@pytest.fixture
def heard(monkeypatch):
    """The note-ons encoded for the model: the player's (what the model generates, or
    chose as voices, it observes, and never encodes again)."""
    pitches: list[int] = []
    feed = codec.StreamingEncoder.feed

    def spy(self, kind, pitch, velocity, t):
        if kind == "on":
            pitches.append(pitch)
        return feed(self, kind, pitch, velocity, t)

    monkeypatch.setattr(codec.StreamingEncoder, "feed", spy)
    return pitches


def play(engine, clock, port, script):
    for step in script:
        clock.t += 0.05
        kind, *args = step
        if kind == "on":
            engine.handle(NoteOn(args[0], 80, t=clock.t, source=args[1] if len(args) > 1 else A))
        elif kind == "off":
            engine.handle(NoteOff(args[0], t=clock.t, source=args[1] if len(args) > 1 else A))
        elif kind == "pedal":
            engine.handle(ControlChange(64, 127 if args[0] else 0, t=clock.t, source=A))
        else:
            engine.handle(InputLost(t=clock.t, source=args[0]))
        port.flush()
        clock.t += 0.002  # past the feed's grace
        engine.run_due()
        port.flush()


SCRIPT = [
    ("on", 60),
    ("on", 64),
    ("pedal", True),
    ("off", 60),
    ("off", 64, A2),  # the pedal holds both
    ("on", 60),  # struck again while the pedal holds it: the held note is replaced, not heard ending
    ("pedal", False),  # 64 ends
    ("off", 60),
    ("on", 67, KEYS),
    ("lost", KEYS),  # its key comes up
]


@pytest.mark.parametrize(
    ("mode", "by"),
    [("off", "rule"), ("thru", "rule"), ("harmonize", "continuation"), ("harmonize", "harmony")]
    + [("duet", "rule"), ("autopilot", "rule")],
)
def test_the_ears_hear_each_played_note_once_whatever_the_mode(heard, mode, by):
    engine, clock, sink, port = make_model_engine(mode, harmony=tiny_harmony(), harmonize__by=by)
    play(engine, clock, port, SCRIPT)
    assert heard == [60, 64, 60, 67]
    listener = engine.sessions.get().ears
    assert [n.pitch for n in listener.played] == [64, 60, 67]  # each as the behaviour heard it end
    assert not engine.sessions.get().keys


def test_the_held_keys_are_one_record_through_pedal_and_other_sockets(monkeypatch):
    asked: list[frozenset[int]] = []
    voice = Voicer.voice
    monkeypatch.setattr(Voicer, "voice", lambda self, ask: asked.append(ask.held) or voice(self, ask))
    kept: list[frozenset[int]] = []
    end_notes = jobs.end_notes
    monkeypatch.setattr(
        jobs, "end_notes", lambda sampler, keep: kept.append(keep) or end_notes(sampler, keep)
    )
    engine, clock, sink, port = make_model_engine("harmonize", harmony=tiny_harmony())
    session = engine.sessions.get()
    play(engine, clock, port, [("on", 60), ("pedal", True), ("on", 64), ("off", 64, A2), ("on", 67)])
    assert asked == [frozenset(), {60}, {60, 64}]  # the pedal's key is still the player's
    assert session.held == {(0, 60): A, (0, 67): A} and session.keys.pitches() == {60, 64, 67}
    play(engine, clock, port, [("off", 60, A2), ("pedal", False), ("on", 72)])  # a note-off barges in
    assert asked[-1] == {67}
    session.ears.end_model_notes()
    assert kept == [{67, 72}]  # the model ends its own notes, never the player's
    play(engine, clock, port, [("lost", A), ("on", 48)])
    assert asked[-1] == frozenset() and session.keys.pitches() == {48}
