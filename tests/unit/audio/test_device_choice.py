"""Which sound goes where: the player's notes reach the synth only with audio.play =
"all" (the engine's input taps), and the output process picks its device as docs/audio.md
says (a name part, else JACK when a JACK server runs, else the default)."""

from __future__ import annotations

import pytest
from fakes import make_engine

from liveai.audio.output import find_output
from liveai.events import ClockTick, ControlChange, InputLost, NoteOff, NoteOn


def test_input_taps_hear_the_players_notes_and_controllers_and_nothing_else() -> None:
    engine, clock, sink = make_engine()
    heard = []
    engine.input_taps.append(heard.append)
    engine.handle(NoteOn(60, 100, t=clock.t))
    engine.handle(NoteOff(60, t=clock.t))
    engine.handle(ControlChange(123, 0, t=clock.t))  # the player's all-notes-off reaches the synth too
    engine.handle(ClockTick(t=clock.t))
    assert heard == [NoteOn(60, 100, t=clock.t), NoteOff(60, t=clock.t), ControlChange(123, 0, t=clock.t)]


def test_a_lost_input_ends_what_the_taps_heard_of_it() -> None:
    engine, clock, sink = make_engine()
    heard = []
    engine.input_taps.append(heard.append)
    engine.handle(NoteOn(60, 100, t=clock.t, source="midi:keys"))
    engine.handle(InputLost(t=clock.t, source="midi:keys"))
    assert heard[-1] == ControlChange(123, 0, t=clock.t)


class FakePortAudio:
    """What sounddevice's queries return, as plain data."""

    def __init__(self, devices: list[tuple[str, int, int]], apis: list[str], default: int) -> None:
        self._devices = [{"name": n, "max_output_channels": ch, "hostapi": api} for n, ch, api in devices]
        self._apis = [{"name": a} for a in apis]
        self.default = type("Default", (), {"device": (-1, default)})()

    def query_devices(self) -> list[dict[str, object]]:
        return self._devices

    def query_hostapis(self) -> list[dict[str, object]]:
        return self._apis


CARDS = FakePortAudio(
    [("HDA Intel PCH: ALC (hw:0,0)", 2, 0), ("USB Audio (hw:1,0)", 8, 0), ("mic", 0, 0), ("system", 2, 1)],
    ["ALSA", "JACK Audio Connection Kit"],
    default=0,
)


def test_a_name_part_picks_the_device_any_case_with_at_most_two_channels() -> None:
    assert find_output(CARDS, "usb audio") == (1, "USB Audio (hw:1,0)", 2)


def test_no_name_takes_jack_when_it_runs_else_the_default() -> None:
    assert find_output(CARDS)[1] == "system"
    alsa_only = FakePortAudio([("HDA Intel PCH", 2, 0), ("USB Audio", 2, 0)], ["ALSA"], default=1)
    assert find_output(alsa_only)[1] == "USB Audio"


def test_no_output_or_no_match_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no audio output named like 'focusrite'.*USB Audio"):
        find_output(CARDS, "focusrite")
    with pytest.raises(ValueError, match="no audio output device"):
        find_output(FakePortAudio([("mic", 0, 0)], ["ALSA"], default=-1))
