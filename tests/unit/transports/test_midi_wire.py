"""The frames between liveai and its MIDI process, the stderr summary, and the rule that
one frame that fails never stops the next."""

from __future__ import annotations

import asyncio
import logging

from liveai.config import MidiConfig
from liveai.core.stats import Stats
from liveai.events import InputLost, NoteOn
from liveai.transports.midi import MidiTransport
from liveai.transports.midi_child import Chatter
from liveai.transports.midi_process import TAKEN, MidiProcess, kind_of
from liveai.transports.midi_wire import (
    IN,
    OUT,
    OUT_TO,
    SAY,
    FrameReader,
    frame,
    in_frame,
    out_frame,
    out_to_frame,
    parse_in,
    parse_say,
    say_frame,
)


def test_frames_survive_any_split_of_the_bytes():
    data = out_frame(b"\x90\x3c\x64") + in_frame(2.5, 7, b"\xf8") + say_frame(event="lost", reason="gone")
    for cut in range(len(data) + 1):
        reader = FrameReader()
        frames = reader.feed(data[:cut]) + reader.feed(data[cut:])
        assert [kind for kind, _ in frames] == [OUT, IN, SAY]
        assert frames[0][1] == b"\x90\x3c\x64"
        assert parse_in(frames[1][1]) == (2.5, 7, b"\xf8")
        assert parse_say(frames[2][1]) == {"event": "lost", "reason": "gone"}


def test_a_report_too_long_for_one_pipe_write_is_cut():
    data = say_frame(event="log", level="info", message="x" * 10_000)
    assert len(data) <= 4096  # PIPE_BUF: written whole
    assert parse_say(FrameReader().feed(data)[0][1])["event"] == "log"


def test_the_process_passes_what_liveai_takes_only():
    assert kind_of([0x93, 60, 100]) in TAKEN and kind_of([0xF8]) in TAKEN
    for dropped in ([0xF0, 1, 0xF7], [0xE0, 0, 64], [0xD0, 5], [0xFE], []):
        assert kind_of(dropped) not in TAKEN


def test_chatter_is_summed_up_in_one_line():
    chatter = Chatter()
    chatter.feed(b"Cannot read socket fd = 9\nCheckRes error\nJackSocketClient")
    chatter.feed(b"Channel read fail\n\nServer is not running\n")
    assert chatter.take() == "4 lines, the last: Server is not running"
    assert chatter.take() == ""


def test_one_frame_that_fails_never_stops_the_next(caplog):
    handled = []

    def handle(event):
        if isinstance(event, NoteOn) and event.pitch == 61:
            raise RuntimeError("a bug")
        handled.append(event)

    midi = MidiTransport(MidiConfig(), handle, Stats(0.0))
    midi.inputs = {0: "liveai in"}
    data = (
        in_frame(1.0, 0, b"\x90\x3c\x64")
        + frame(SAY, b"{not json")
        + in_frame(1.1, 0, b"\x90\x3d\x64")
        + in_frame(1.2, 0, b"\x90")
        + say_frame(event="what")
        + in_frame(1.3, 0, b"\x90\x3e\x64")
        + say_frame(event="gone", input=True, name="liveai in", number=0)
    )
    frames = FrameReader().feed(data)
    with caplog.at_level(logging.ERROR, logger="liveai.core.faults"):
        midi._take(frames)
    assert [e.pitch for e in handled if isinstance(e, NoteOn)] == [60, 62]
    assert [e.source for e in handled if isinstance(e, InputLost)] == ["midi:liveai in"]
    assert midi.stats.counters["internal_errors"] == 4
    # once a second, not per failure
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1


def test_a_frame_of_unknown_kind_is_counted_and_the_process_restarted():
    """Framing that slipped turns the rest into noise: counted as a fault, and `serve`
    ends so the supervisor starts a process whose stream is whole again."""
    handled = []

    async def take() -> str:
        midi = MidiTransport(MidiConfig(), handled.append, Stats(0.0))
        midi.inputs = {0: "liveai in"}
        midi._lost = asyncio.get_running_loop().create_future()
        midi._take(
            FrameReader().feed(
                in_frame(1.0, 0, b"\x90\x3c\x64") + frame(99, b"stray") + in_frame(1.1, 0, b"\x90\x3d\x64")
            )
        )
        assert midi.stats.counters["internal_errors"] == 1
        assert midi._lost.done()
        return midi._lost.result()

    assert "garbled" in asyncio.run(take())
    assert [e.pitch for e in handled] == [60]  # nothing after the slip is taken as MIDI


def test_the_processs_counts_add_up_in_status_and_its_input_drops_are_said(caplog, monkeypatch):
    """The MIDI process says its totals; liveai counts what is new under the same names,
    and says the input it dropped (liveai took none for a while) at most once a second,
    with the drops of the reports held back in between summed by its throttle."""
    midi = MidiTransport(MidiConfig(), lambda event: None, Stats(0.0))
    reports = ((0.0, 2, 0), (0.1, 3, 40), (0.5, 3, 45), (0.9, 3, 46), (2.0, 3, 50))
    with caplog.at_level(logging.WARNING, logger="liveai.transports.midi"):
        for now, ignored, dropped in reports:
            monkeypatch.setattr("liveai.transports.midi.time.monotonic", lambda now=now: now)
            midi._take(
                FrameReader().feed(say_frame(event="counts", midi_ignored=ignored, midi_in_dropped=dropped))
            )
    assert midi.stats.counters["midi_ignored"] == 3 and midi.stats.counters["midi_in_dropped"] == 50
    said = [r.getMessage() for r in caplog.records if r.name == "liveai.transports.midi"]
    assert said[0] == "liveai took no MIDI input for a while: 40 messages dropped"
    # the 6 held back within the second are said with the next 4
    assert (
        said[1]
        == "liveai took no MIDI input for a while: 4 messages dropped (6 more dropped since the last report)"
    )
    assert len(said) == 2


class _Port:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send_message(self, message: bytes) -> None:
        self.sent.append(message)


def test_a_frame_for_a_group_reaches_only_the_outputs_of_that_group():
    """`midi.output_latency_ms`: group 1 + the first text an output's name holds, else 0."""
    midi = MidiProcess(
        {"api": "jack", "frames_fd": -1, "client_name": "liveai", "latency_groups": ["FLUID", "synth"]}
    )
    ports = {name: _Port() for name in ("liveai out", "FLUID Synth:midi", "MicroFreak synth")}
    for name, port in ports.items():
        midi._add_output(name, port)
    assert midi.groups == {"liveai out": 0, "FLUID Synth:midi": 1, "MicroFreak synth": 2}
    [(kind, payload)] = FrameReader().feed(out_to_frame(1, b"\x90\x3c\x64"))
    assert kind == OUT_TO
    midi.send(payload[1:], payload[0])
    midi.send(b"\xf8", 0)
    midi.send(b"\xfa")  # OUT: every output
    assert {name: port.sent for name, port in ports.items()} == {
        "liveai out": [b"\xf8", b"\xfa"],
        "FLUID Synth:midi": [b"\x90\x3c\x64", b"\xfa"],
        "MicroFreak synth": [b"\xfa"],
    }


def test_an_output_is_logged_with_the_latency_it_got():
    config = MidiConfig(latency_ms=10.0, output_latency_ms={"fluid": 45.0, "liveai": 0.0})
    midi = MidiTransport(config, lambda event: None, Stats(0.0, 10.0))
    assert midi._with_latency("FLUID Synth:midi") == "FLUID Synth:midi (latency 45 ms)"
    assert midi._with_latency("liveai out") == "liveai out"  # matched: 0 ms
    assert midi._with_latency("MicroFreak") == "MicroFreak (latency 10 ms)"
    assert len(midi.sinks()) == 3  # one per group: the unnamed outputs, fluid, liveai
