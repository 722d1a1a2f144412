"""The render thread's timing: notes land on the sample their due time maps to (a
constant lead after the latest callback), keep their spacing to the sample, one that
comes too late starts at the next sample rendered and is counted, and one late
callback does not move the notes (the earliest anchor is the stream's clock).
The engine's logic alone: no thread, no audio process."""

from __future__ import annotations

import pytest
import torch

from liveai.audio.engine import AudioEngine
from liveai.audio.features import LIVEAI
from liveai.audio.renderer import SynthRenderer
from liveai.config import AudioConfig
from liveai.events import ControlChange, NoteOff, NoteOn
from liveai.models.synth import SynthConfig, SynthNet

SR = 48_000


@pytest.fixture
def engine():
    torch.manual_seed(0)
    net = SynthNet(SynthConfig(channels=4, skip=4, dilations=(1, 2)))
    engine = AudioEngine(AudioConfig(blocksize=256, ring_blocks=1), SynthRenderer(net, scripted=False))
    yield engine
    engine.close()


def callback_at(engine: AudioEngine, sample: int, t: float) -> None:
    engine.ring.set_anchor(sample, round(t * 1e9))


def rendered(engine: AudioEngine, start: int, blocks: int) -> list[tuple[int, int, int]]:
    """(absolute sample, pitch, velocity) of the events of `blocks` blocks from `start`."""
    out = []
    for b in range(blocks):
        at = start + 256 * b
        out += [(at + offset, pitch, velocity) for offset, pitch, velocity, _ in engine._events_in(at, 256)]
    return out


def voices_after_release(engine: AudioEngine, at: int) -> int:
    """Render the block at sample `at` with its events, then 200 ms: the voices left."""
    engine.renderer.render(256, engine._events_in(at, 256))
    engine.renderer.render(SR // 5)
    return engine.renderer.voices()


def test_notes_keep_their_spacing_to_the_sample(engine: AudioEngine) -> None:
    callback_at(engine, 0, 100.0)
    engine.sink(NoteOn(60, 100, t=100.0010))
    engine.sink(NoteOn(64, 100, t=100.0041))
    engine.sink(NoteOff(60, t=100.0100))
    lead = engine.ring.capacity + 256
    assert engine.lead == lead == 512
    assert rendered(engine, 512, 4) == [(48 + lead, 60, 100), (197 + lead, 64, 100), (480 + lead, 60, 0)]
    assert engine.late == 0


def test_a_late_note_starts_at_the_next_sample_rendered_and_is_counted(engine: AudioEngine) -> None:
    callback_at(engine, 0, 100.0)
    engine.sink(NoteOn(60, 100, t=99.9))  # due 100 ms before the callback
    assert engine._events_in(512, 256) == [(0, 60, 100, LIVEAI)]
    assert engine.late == 1


def test_a_late_callback_does_not_move_the_notes(engine: AudioEngine) -> None:
    callback_at(engine, 0, 100.0)
    engine._events_in(256, 256)
    callback_at(engine, 256, 100.0 + 256 / SR + 0.004)  # this callback ran 4 ms late
    engine.sink(NoteOn(60, 100, t=100.0100))
    assert rendered(engine, 512, 4) == [(480 + engine.lead, 60, 100)]


def test_a_note_off_never_lands_before_its_note_on_when_the_stream_clock_moves(engine: AudioEngine) -> None:
    callback_at(engine, 0, 100.0)
    engine.sink(NoteOn(60, 100, t=100.0300))  # mapped now, rendered a few blocks later
    engine._events_in(512, 256)
    # The driver lost 50 ms: its samples now reach the callback later, so the stream's
    # start moves later (the old anchors leave the window) and a later time maps earlier.
    callback_at(engine, 512, 100.0 + 512 / SR + 0.3)
    callback_at(engine, 768, 100.0 + 768 / SR + 0.35)
    engine.sink(NoteOff(60, t=100.0310))
    got = rendered(engine, 768, 12)
    assert [e[1:] for e in got] == [(60, 100), (60, 0)], got
    assert got[0][0] <= got[1][0]


def test_a_note_off_stamped_before_its_note_on_still_lands_after_it(engine: AudioEngine) -> None:
    """A harmony's note-off carries the input's time, which can be older than the
    harmony's note-on: the voice must still end."""
    callback_at(engine, 0, 100.0)
    engine.sink(NoteOn(64, 100, t=100.0300))
    engine.sink(NoteOff(64, t=100.0200))
    got = rendered(engine, 512, 12)
    assert [e[1:] for e in got] == [(64, 100), (64, 0)] and got[0][0] <= got[1][0]


def test_all_notes_off_ends_a_note_struck_earlier_in_the_same_block(engine: AudioEngine) -> None:
    callback_at(engine, 0, 100.0)
    engine.sink(NoteOn(60, 100, t=100.0010))
    engine.sink(NoteOn(67, 100, t=100.0012))
    engine.sink(ControlChange(123, 0, t=100.0020))
    start = 512 + 256 * ((round(0.001 * SR) + engine.lead - 512) // 256)  # the block the notes land in
    for at in range(512, start + 256, 256):
        engine.renderer.render(256, engine._events_in(at, 256))
    engine.renderer.render(SR // 5)  # the release
    assert engine.renderer.voices() == 0


def test_all_notes_off_releases_every_voice_at_its_sample(engine: AudioEngine) -> None:
    engine.sink(NoteOn(60, 100, t=0.0))
    engine.sink(NoteOn(67, 100, t=0.0))
    engine.renderer.render(256, engine._events_in(0, 256))
    assert engine.renderer.voices() == 2
    engine.sink(ControlChange(123, 0, t=0.0))
    assert voices_after_release(engine, 256) == 0


def test_the_sustain_pedal_holds_a_released_note_until_it_comes_up(engine: AudioEngine) -> None:
    """CC 64 from the player (audio.play = "all") or liveai: a note let go under the
    pedal sounds on until the pedal is up, at the pedal's sample."""
    engine.sink(NoteOn(60, 100, t=0.0))
    engine.sink(ControlChange(64, 127, t=0.0))
    engine.sink(NoteOff(60, t=0.0))
    assert voices_after_release(engine, 0) == 1  # 200 ms, far longer than a release
    engine.sink(ControlChange(64, 0, t=0.0))
    assert voices_after_release(engine, 256 + SR // 5) == 0


def test_reset_all_controllers_lifts_the_pedal(engine: AudioEngine) -> None:
    engine.sink(NoteOn(60, 100, t=0.0))
    engine.sink(ControlChange(64, 127, t=0.0))
    engine.sink(NoteOff(60, t=0.0))
    assert voices_after_release(engine, 0) == 1
    engine.sink(ControlChange(121, 0, t=0.0))
    assert voices_after_release(engine, 256 + SR // 5) == 0


def test_the_players_notes_are_their_own_layer(engine: AudioEngine) -> None:
    """audio.play = "all": a lost keyboard's all-notes-off ends the player's notes, not
    liveai's; liveai's own panic ends everything."""
    engine.sink(NoteOn(60, 100, t=0.0))
    engine.tap(NoteOn(60, 100, t=0.0))
    engine.tap(NoteOn(64, 100, t=0.0))
    engine.renderer.render(256, engine._events_in(0, 256))
    assert engine.renderer.voices() == 3
    engine.tap(ControlChange(123, 0, t=0.0))
    assert voices_after_release(engine, 256) == 1  # liveai's C plays on
    engine.tap(NoteOn(67, 100, t=0.0))
    engine.sink(ControlChange(123, 0, t=0.0))
    assert voices_after_release(engine, 512 + SR // 5) == 0


def test_thrus_echo_of_the_players_note_is_heard_once() -> None:
    """audio.play = "all" in thru mode: the tap plays the player's note; liveai's echo of
    it (it carries the player's source) is not played again beside it."""
    torch.manual_seed(0)
    net = SynthNet(SynthConfig(channels=4, skip=4, dilations=(1, 2)))
    engine = AudioEngine(AudioConfig(blocksize=256, ring_blocks=1, play="all"), SynthRenderer(net, scripted=False))
    try:
        played = NoteOn(60, 100, t=0.0, source="osc:127.0.0.1:9000")
        engine.tap(played)
        engine.sink(played)  # thru's echo
        engine.sink(NoteOn(64, 100, t=0.0))  # liveai's own note
        engine.renderer.render(256, engine._events_in(0, 256))
        assert engine.renderer.voices() == 2
    finally:
        engine.close()
