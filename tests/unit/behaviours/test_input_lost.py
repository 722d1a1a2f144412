"""An input lost (a keyboard unplugged, the JACK server gone) lets go of that input's
keys and pedal, so what answers them ends; what plays on its own plays on. In the
default shared session, everyone's music is in the one session: an autopilot or a
morph loop must not stop because one keyboard went away."""

from __future__ import annotations

from fakes import make_engine, make_model_engine
from test_panic import drive, notes_on

from liveai.config import Config
from liveai.events import ControlChange, InputLost, NoteOff, NoteOn

KEYS = "midi:keys"


def thru() -> Config:
    config = Config()
    config.server.mode = "thru"
    return config


def test_the_autopilot_plays_on_when_a_keyboard_is_lost():
    engine, clock, sink, port = make_model_engine("autopilot")
    drive(engine, clock, port, 3.0)
    assert notes_on(sink), "the autopilot plays before the input is lost"
    engine.handle(InputLost(t=clock.t, source=KEYS))
    lost = clock.t
    drive(engine, clock, port, 10.0)
    assert len(notes_on(sink, lost)) > 5, "the autopilot stopped when a keyboard went away"
    engine.shutdown()
    assert sink.sounding() == set()


def test_a_lost_keyboard_lets_go_of_its_keys_and_pedal_only():
    engine, clock, sink = make_engine(thru())
    engine.handle(ControlChange(64, 127, 0, t=0.0, source=KEYS))  # its pedal down
    engine.handle(NoteOn(60, 90, 0, t=0.0, source=KEYS))
    engine.handle(NoteOn(64, 90, 0, t=0.0, source=KEYS))
    engine.handle(NoteOff(64, 0, t=0.1, source=KEYS))  # held by its pedal
    engine.handle(NoteOn(72, 90, 1, t=0.1, source="osc:pad:9000"))  # another player's key
    assert {p for _, p in sink.sounding()} == {60, 64, 72}
    engine.handle(InputLost(t=0.2, source=KEYS))
    assert {p for _, p in sink.sounding()} == {72}, "only the lost keyboard's notes end"
    ups = [e for _, e in sink.sent if isinstance(e, ControlChange) and e.controller == 64 and e.value == 0]
    assert ups, "thru echoes the lost keyboard's pedal coming up"
    engine.handle(NoteOn(62, 90, 0, t=0.3, source=KEYS))  # plugged in again, the pedal is up
    engine.handle(NoteOff(62, 0, t=0.4, source=KEYS))
    assert {p for _, p in sink.sounding()} == {72}
    engine.handle(NoteOff(72, 1, t=0.5, source="osc:pad:9000"))
    assert sink.sounding() == set()


def test_a_pedal_another_input_holds_stays_down():
    engine, clock, sink = make_engine(thru())
    engine.handle(ControlChange(64, 127, 0, t=0.0, source="midi:pedalboard"))
    engine.handle(ControlChange(64, 127, 0, t=0.0, source=KEYS))
    engine.handle(NoteOn(67, 90, 0, t=0.0, source="midi:other"))
    engine.handle(NoteOff(67, 0, t=0.1, source="midi:other"))  # held by the pedals
    engine.handle(InputLost(t=0.2, source=KEYS))
    assert {p for _, p in sink.sounding()} == {67}, "the pedalboard still holds it"
    engine.handle(ControlChange(64, 0, 0, t=0.3, source="midi:pedalboard"))
    assert sink.sounding() == set()
