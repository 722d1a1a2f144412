"""The render process's timing, with liveai's side of the pipe: notes land on the sample
their due time maps to (a block and the headroom after it), keep their spacing to the
sample, one that comes too late starts at the next sample rendered and is counted, one
late callback does not move the notes (the earliest anchor is the stream's clock), and
each block is rendered `headroom` before the callback takes it, holding every note due
until then. The logic alone: no process; the pipe and the ring are real."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from liveai.audio.features import LIVEAI
from liveai.audio.link import SynthLink
from liveai.audio.renderer import SynthRenderer
from liveai.audio.timeline import Timeline
from liveai.audio.wire import RecordReader
from liveai.config import AudioConfig
from liveai.events import ControlChange, Event, NoteOff, NoteOn
from liveai.models.synth import SynthConfig, SynthNet

SR = 48_000
BLOCK = 256
HEADROOM = 96  # 2 ms
LEAD = BLOCK + HEADROOM


class Stream:
    """liveai's engine (not started: no processes) and a Timeline on its ring and pipe."""

    def __init__(self, play: str = "model") -> None:
        torch.manual_seed(0)
        net = SynthNet(SynthConfig(channels=4, skip=4, dilations=(1, 2)))
        self.engine = SynthLink(
            AudioConfig(blocksize=BLOCK, headroom_ms=1000 * HEADROOM / SR, play=play), Path("unused.pt")
        )
        self.ring = self.engine.ring
        self.timeline = Timeline(SynthRenderer(net, scripted=False), self.ring, BLOCK, HEADROOM / SR)
        self.reader = RecordReader(self.engine._events_r)

    def send(self, *events: Event, tap: bool = False) -> None:
        for event in events:
            (self.engine.tap if tap else self.engine.sink)(event)
        self.timeline.take(self.reader.read())

    def callback_at(self, sample: int, t: float) -> None:
        self.ring.header.frames = BLOCK
        self.ring.set_anchor(sample, round(t * 1e9))

    def rendered(self, start: int, blocks: int) -> list[tuple[int, int, int]]:
        """(absolute sample, pitch, velocity) of the events of `blocks` blocks from `start`."""
        out = []
        for b in range(blocks):
            at = start + BLOCK * b
            out += [
                (at + offset, pitch, velocity)
                for offset, pitch, velocity, _ in self.timeline._events_in(at, BLOCK)
            ]
        return out

    def voices_after_release(self, at: int) -> int:
        """Render the block at sample `at` with its events, then 200 ms: the voices left."""
        renderer = self.timeline.renderer
        renderer.render(BLOCK, self.timeline._events_in(at, BLOCK))
        renderer.render(SR // 5)
        return renderer.voices()


@pytest.fixture
def stream():
    s = Stream()
    yield s
    s.engine.close()


def test_notes_keep_their_spacing_to_the_sample(stream: Stream) -> None:
    stream.callback_at(0, 100.0)
    stream.send(NoteOn(60, 100, t=100.0010), NoteOn(64, 100, t=100.0041), NoteOff(60, t=100.0100))
    assert stream.timeline.lead == LEAD
    assert stream.rendered(256, 4) == [(48 + LEAD, 60, 100), (197 + LEAD, 64, 100), (480 + LEAD, 60, 0)]
    assert stream.timeline.late == 0


def test_each_block_is_rendered_its_headroom_before_the_callback_takes_it(stream: Stream) -> None:
    assert stream.timeline.due() is None  # no callback yet: no clock to render by
    stream.ring.read_into(np.zeros(BLOCK, dtype=np.float32))  # the first callback took samples 0-255
    stream.callback_at(0, 100.0)
    assert stream.timeline.due() == pytest.approx(100.0 + (BLOCK - HEADROOM) / SR)
    stream.timeline.render_next()
    assert stream.ring.written == 2 * BLOCK
    # the next, a block later
    assert stream.timeline.due() == pytest.approx(100.0 + (2 * BLOCK - HEADROOM) / SR)


def test_a_block_holds_every_note_due_before_its_render_began(stream: Stream) -> None:
    stream.ring.read_into(np.zeros(BLOCK, dtype=np.float32))
    stream.callback_at(0, 100.0)
    render_at = stream.timeline.due()
    stream.send(NoteOn(60, 100, t=render_at - 1 / SR), NoteOn(64, 100, t=render_at + 1e-6))
    assert stream.rendered(BLOCK, 2) == [(2 * BLOCK - 1, 60, 100), (2 * BLOCK, 64, 100)]


def test_no_render_while_the_ring_has_no_room(stream: Stream) -> None:
    stream.callback_at(0, 100.0)
    stream.ring.write(np.zeros(stream.ring.capacity - BLOCK + 1, dtype=np.float32))
    assert stream.timeline.due() is None


def test_a_late_note_starts_at_the_next_sample_rendered_and_is_counted(stream: Stream) -> None:
    stream.callback_at(0, 100.0)
    stream.send(NoteOn(60, 100, t=99.9))  # due 100 ms before the callback
    assert stream.timeline._events_in(512, BLOCK) == [(0, 60, 100, LIVEAI)]
    assert stream.timeline.late == 1
    # Its end and the pedal, late too, are played at once but are not counted: only a
    # note that starts late is heard late.
    stream.send(NoteOff(60, t=99.95), ControlChange(64, 127, t=99.95))
    assert [e[1:3] for e in stream.timeline._events_in(768, BLOCK)] == [(60, 0), (-2, 127)]
    assert stream.timeline.late == 1


def test_a_late_callback_does_not_move_the_notes(stream: Stream) -> None:
    stream.callback_at(0, 100.0)
    stream.timeline._events_in(256, BLOCK)
    stream.callback_at(256, 100.0 + 256 / SR + 0.004)  # this callback ran 4 ms late
    stream.send(NoteOn(60, 100, t=100.0100))
    assert stream.rendered(512, 4) == [(480 + LEAD, 60, 100)]


def test_a_note_off_never_lands_before_its_note_on_when_the_stream_clock_moves(stream: Stream) -> None:
    stream.callback_at(0, 100.0)
    stream.send(NoteOn(60, 100, t=100.0300))  # placed now, rendered a few blocks later
    stream.timeline._events_in(512, BLOCK)
    # The driver lost 50 ms: its samples now reach the callback later, so the stream's
    # start moves later (the old anchors leave the window) and a later time maps earlier.
    stream.callback_at(512, 100.0 + 512 / SR + 0.3)
    stream.callback_at(768, 100.0 + 768 / SR + 0.35)
    stream.send(NoteOff(60, t=100.0310))
    got = stream.rendered(768, 12)
    assert [e[1:] for e in got] == [(60, 100), (60, 0)], got
    assert got[0][0] <= got[1][0]


def test_a_note_off_stamped_before_its_note_on_still_lands_after_it(stream: Stream) -> None:
    """A harmony's note-off carries the input's time, which can be older than the
    harmony's note-on: the voice must still end."""
    stream.callback_at(0, 100.0)
    stream.send(NoteOn(64, 100, t=100.0300), NoteOff(64, t=100.0200))
    got = stream.rendered(512, 12)
    assert [e[1:] for e in got] == [(64, 100), (64, 0)] and got[0][0] <= got[1][0]


def test_all_notes_off_ends_a_note_struck_earlier_in_the_same_block(stream: Stream) -> None:
    stream.callback_at(0, 100.0)
    stream.send(NoteOn(60, 100, t=100.0010), NoteOn(67, 100, t=100.0012), ControlChange(123, 0, t=100.0020))
    renderer = stream.timeline.renderer
    for at in range(256, 48 + LEAD + BLOCK, BLOCK):  # up to the block the notes land in
        renderer.render(BLOCK, stream.timeline._events_in(at, BLOCK))
    renderer.render(SR // 5)  # the release
    assert renderer.voices() == 0


def test_all_notes_off_releases_every_voice_at_its_sample(stream: Stream) -> None:
    stream.send(NoteOn(60, 100, t=0.0), NoteOn(67, 100, t=0.0))
    stream.timeline.renderer.render(BLOCK, stream.timeline._events_in(0, BLOCK))
    assert stream.timeline.renderer.voices() == 2
    stream.send(ControlChange(123, 0, t=0.0))
    assert stream.voices_after_release(BLOCK) == 0


def test_the_sustain_pedal_holds_a_released_note_until_it_comes_up(stream: Stream) -> None:
    """CC 64 from the player (audio.play = "all") or liveai: a note let go under the
    pedal sounds on until the pedal is up, at the pedal's sample."""
    stream.send(NoteOn(60, 100, t=0.0), ControlChange(64, 127, t=0.0), NoteOff(60, t=0.0))
    assert stream.voices_after_release(0) == 1  # 200 ms, far longer than a release
    stream.send(ControlChange(64, 0, t=0.0))
    assert stream.voices_after_release(BLOCK + SR // 5) == 0


def test_reset_all_controllers_lifts_the_pedal(stream: Stream) -> None:
    stream.send(NoteOn(60, 100, t=0.0), ControlChange(64, 127, t=0.0), NoteOff(60, t=0.0))
    assert stream.voices_after_release(0) == 1
    stream.send(ControlChange(121, 0, t=0.0))
    assert stream.voices_after_release(BLOCK + SR // 5) == 0


def test_the_players_notes_are_their_own_layer(stream: Stream) -> None:
    """audio.play = "all": a lost keyboard's all-notes-off ends the player's notes, not
    liveai's; liveai's own panic ends everything."""
    stream.send(NoteOn(60, 100, t=0.0))
    stream.send(NoteOn(60, 100, t=0.0), NoteOn(64, 100, t=0.0), tap=True)
    stream.timeline.renderer.render(BLOCK, stream.timeline._events_in(0, BLOCK))
    assert stream.timeline.renderer.voices() == 3
    stream.send(ControlChange(123, 0, t=0.0), tap=True)
    assert stream.voices_after_release(BLOCK) == 1  # liveai's C plays on
    stream.send(NoteOn(67, 100, t=0.0), tap=True)
    stream.send(ControlChange(123, 0, t=0.0))
    assert stream.voices_after_release(512 + SR // 5) == 0


def test_each_of_the_players_sources_is_a_layer_of_its_own(stream: Stream) -> None:
    """Two keyboards (or a keyboard and a Pd patch): one's pedal holds only its own notes,
    and one lost ends only its own notes, pedal and all. An OSC host is one player
    whatever port each message comes from (oscsend opens a new one per call)."""
    a, b = "midi:Keystation", "osc:127.0.0.1:50001"
    stream.send(
        NoteOn(60, 100, t=0.0, source=a),
        ControlChange(64, 127, t=0.0, source=a),
        NoteOn(64, 100, t=0.0, source=b),
        tap=True,
    )
    stream.send(NoteOff(60, t=0.0, source=a), NoteOff(64, t=0.0, source="osc:127.0.0.1:50002"), tap=True)
    assert stream.voices_after_release(0) == 1  # a's pedal holds a's note, not b's
    stream.send(NoteOn(67, 100, t=0.0, source=b), NoteOn(72, 100, t=0.0, source=a), tap=True)
    renderer = stream.timeline.renderer
    renderer.render(BLOCK, stream.timeline._events_in(BLOCK + SR // 5, BLOCK))
    assert renderer.voices() == 3
    stream.send(ControlChange(123, 0, t=0.0, source=a), tap=True)  # a is unplugged: liveai ends what it held
    assert stream.voices_after_release(2 * BLOCK + SR // 5) == 1  # b's G plays on
    stream.send(NoteOn(60, 100, t=0.0, source=a), NoteOff(60, t=0.0, source=a), tap=True)
    assert stream.voices_after_release(3 * BLOCK + 2 * SR // 5) == 1  # a's pedal came up with it


def test_a_new_source_past_the_layers_takes_the_longest_silent_ones(stream: Stream, monkeypatch) -> None:
    """Layers are a byte's worth: the 255th source takes the layer of the source heard
    from longest ago, whose notes and pedal end first, so nothing of it is left held."""
    monkeypatch.setattr("liveai.audio.link.PLAYER_LAYERS", 2)
    stream.send(
        NoteOn(60, 100, t=0.0, source="a"),
        ControlChange(64, 127, t=0.0, source="a"),
        NoteOn(64, 100, t=0.0, source="b"),
        tap=True,
    )
    stream.send(NoteOn(67, 100, t=0.0, source="c"), NoteOff(67, t=0.0, source="c"), tap=True)  # a's layer now
    assert stream.voices_after_release(0) == 1  # b's note; a's ended, and its pedal holds nothing of c's
    stream.send(NoteOff(64, t=0.0, source="b"), tap=True)
    assert stream.voices_after_release(BLOCK + SR // 5) == 0
    # A source lost that was never heard (or played only knobs) takes no layer from one that was.
    stream.send(NoteOn(62, 100, t=0.0, source="b"), ControlChange(1, 64, t=0.0, source="d"), tap=True)
    stream.send(ControlChange(123, 0, t=0.0, source="e"), tap=True)
    assert stream.voices_after_release(2 * BLOCK + 2 * SR // 5) == 1
    assert set(stream.engine._layers) == {"b", "c"}


def test_thrus_echo_of_the_players_note_is_heard_once() -> None:
    """audio.play = "all" in thru mode: the tap plays the player's note; liveai's echo of
    it (it carries the player's source) is not played again beside it."""
    stream = Stream(play="all")
    try:
        played = NoteOn(60, 100, t=0.0, source="osc:127.0.0.1:9000")
        stream.send(played, tap=True)
        stream.send(played)  # thru's echo
        stream.send(NoteOn(64, 100, t=0.0))  # liveai's own note
        stream.timeline.renderer.render(BLOCK, stream.timeline._events_in(0, BLOCK))
        assert stream.timeline.renderer.voices() == 2
    finally:
        stream.engine.close()


def test_a_new_stream_starts_from_silence(stream: Stream) -> None:
    stream.callback_at(0, 100.0)
    stream.send(NoteOn(60, 100, t=100.0), NoteOn(64, 100, t=100.1))
    stream.timeline.render_next()
    stream.timeline.render_next()  # samples 256-511: the first note's
    assert stream.timeline.renderer.voices() == 1 and stream.timeline.pending
    stream.timeline.reset()
    assert (
        stream.timeline.renderer.voices() == 0 and not stream.timeline.pending and not stream.timeline.starts
    )


def test_the_figures_reach_liveais_status_through_the_ring(stream: Stream) -> None:
    stream.ring.read_into(np.zeros(BLOCK, dtype=np.float32))
    stream.callback_at(0, 100.0)
    stream.send(NoteOn(60, 100, t=99.0))  # late
    stream.send(NoteOn(64, 100, t=100.0))
    for _ in range(3):
        stream.timeline.render_next()
    stream.callback_at(3 * BLOCK, 100.0 + 3 * BLOCK / SR)  # the callback has taken both onsets
    stream.timeline.report()
    h = stream.ring.header
    assert (h.renders, h.late, h.voices) == (3, 1, 2)
    assert h.render_p99_us > 0
    status = stream.engine.status()
    assert status["audio_renders"] == 3 and status["audio_late_notes"] == 1 and status["audio_voices"] == 2
