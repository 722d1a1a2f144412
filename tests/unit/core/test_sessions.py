"""Per-source sessions: a player is a host, a MIDI input or a named session; only idle
sessions are closed to make room, and a full house of players refuses the next one."""

from __future__ import annotations

import pytest
from fakes import make_engine

from liveai.config import Config
from liveai.core.session import SHARED
from liveai.errors import CommandError
from liveai.events import NoteOff, NoteOn, ProgramChange


def per_source(max_sessions: int = 32):
    config = Config()
    config.server.sessions = "per_source"
    config.server.max_sessions = max_sessions
    return make_engine(config)


def test_a_note_off_from_another_port_of_the_same_host_ends_the_harmony():
    engine, clock, sink = per_source()
    engine.handle(NoteOn(60, 100, t=clock.t, source="osc:127.0.0.1:50001"))  # oscsend: a new port per call
    engine.handle(NoteOff(60, t=clock.t, source="osc:127.0.0.1:50002"))
    assert sink.sounding() == set() and len(engine.sessions) == 1


def test_a_named_session_is_one_player_from_anywhere():
    from liveai.control.handlers import definitions
    from liveai.control.table import CommandTable
    from liveai.core.commands import Request

    engine, clock, sink = per_source()
    table = CommandTable(engine, definitions([]))
    table.dispatch("/liveai/note", [60, 100, 1, 7.0], Request("osc:10.0.0.1:1", clock.t, None))  # type: ignore[arg-type]
    table.dispatch("/liveai/note", [60, 0, 1, "7"], Request("osc:10.0.0.2:1", clock.t, None))  # type: ignore[arg-type]
    assert sink.sounding() == set() and engine.sessions.key("session:7") in [s.key for s in engine.sessions]


def test_only_idle_sessions_make_room_and_a_full_house_refuses():
    engine, clock, sink = per_source(max_sessions=2)
    engine.handle(NoteOn(60, 100, t=clock.t, source="osc:10.0.0.1:1"))  # plays on
    engine.handle(NoteOn(62, 100, t=clock.t, source="osc:10.0.0.2:1"))
    engine.handle(NoteOff(62, t=clock.t, source="osc:10.0.0.2:1"))  # idle now
    engine.handle(NoteOn(64, 100, t=clock.t, source="osc:10.0.0.3:1"))  # closes 10.0.0.2, not 10.0.0.1
    assert (0, 64) in sink.sounding() and (0, 67) in sink.sounding()  # 60's voices still sound
    assert engine.stats.counters["sessions_evicted"] == 1
    with pytest.raises(CommandError) as info:  # both remaining players hold keys
        engine.handle(NoteOn(65, 100, t=clock.t, source="osc:10.0.0.4:1"))
    assert info.value.code == "busy" and engine.stats.counters["sessions_refused"] == 1
    assert engine.status()["sessions_refused"] == 1


def test_what_mqtt_plays_and_asks_for_goes_to_the_shared_session():
    """MQTT is nobody's own: its notes and its /continue reach the session its /mode
    changes (the shared one), never a session of its own."""
    engine, clock, sink = per_source()
    engine.handle(NoteOn(60, 100, t=clock.t, source="osc:10.0.0.1:1"))  # a player of its own
    engine.handle(NoteOn(64, 100, t=clock.t, source="mqtt"))
    with pytest.raises(CommandError, match="continue needs duet"):  # it opens the session first
        engine.continue_(1.0, "mqtt")
    assert [s.key for s in engine.sessions] == ["osc:10.0.0.1", SHARED]
    engine.set_mode("thru", "mqtt")  # everyone's
    assert engine.sessions.find("mqtt") is engine.sessions.find("") and engine.state["mode"] == "thru"


def test_a_program_change_switches_only_the_session_of_the_input_that_sent_it():
    engine, clock, sink = per_source()
    for source in ("midi:keys", "midi:pads"):
        engine.handle(NoteOn(60, 100, t=clock.t, source=source))
        engine.handle(NoteOff(60, t=clock.t, source=source))
    engine.handle(ProgramChange(1, t=clock.t, source="midi:keys"))  # midi.program_map: 1 thru
    assert (engine.sessions.get("midi:keys").mode, engine.sessions.get("midi:pads").mode) == (
        "thru",
        "harmonize",
    )
    assert engine.state["mode"] == "harmonize"  # what a new player starts in
