"""The render process's loop, a turn at a time, on a real ring and pipe: notes sent
while no stream plays are not kept; a block due is rendered with every note sent until
then; a new stream starts from silence; the loop ends when liveai closes its end of the
pipe of notes."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import torch

from liveai.audio.render_process import RenderLoop
from liveai.audio.renderer import SynthRenderer
from liveai.audio.ring import Ring
from liveai.audio.timeline import Timeline
from liveai.audio.voices import LIVEAI
from liveai.audio.wire import RecordReader, RecordWriter, open_pipe
from liveai.models.synth import SynthConfig, SynthNet

BLOCK = 256


@pytest.fixture
def loop():
    torch.manual_seed(0)
    net = SynthNet(SynthConfig(channels=4, skip=4, dilations=(1, 2)))
    ring = Ring.create(8192)
    events_r, events_w = open_pipe()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    timeline = Timeline(SynthRenderer(net, scripted=False), ring, BLOCK, 0.002)
    render_loop = RenderLoop(timeline, RecordReader(events_r), wake_r)
    render_loop.writer = RecordWriter(events_w)  # type: ignore[attr-defined]
    yield render_loop
    for fd in (events_r, wake_r, wake_w):
        os.close(fd)
    if not render_loop.reader.closed:
        os.close(events_w)
    ring.close()


def callback(ring: Ring, at: float) -> None:
    """The output process's callback took a block at time `at`."""
    first = ring.read
    ring.read_into(np.zeros(BLOCK, dtype=np.float32))
    ring.header.frames = BLOCK
    ring.set_anchor(first, round(at * 1e9))


def test_notes_sent_while_no_stream_plays_are_not_kept(loop: RenderLoop) -> None:
    loop.writer.send(time.monotonic(), 60, 100, LIVEAI)  # type: ignore[attr-defined]
    assert loop.turn()
    assert loop.timeline.inbox == [] and loop.ring.written == 0


def test_a_due_block_is_rendered_with_every_note_sent_until_then(loop: RenderLoop) -> None:
    now = time.monotonic()
    callback(loop.ring, now - 0.1)  # a block's callback 100 ms ago: the next block is due
    loop.writer.send(now - 0.1, 60, 100, LIVEAI)  # type: ignore[attr-defined]
    assert loop.turn()
    assert loop.ring.written == 2 * BLOCK and loop.timeline.renderer.voices() == 1


def test_a_new_stream_starts_from_silence(loop: RenderLoop) -> None:
    now = time.monotonic()
    callback(loop.ring, now - 0.1)
    loop.writer.send(now - 0.1, 60, 100, LIVEAI)  # type: ignore[attr-defined]
    loop.turn()
    assert loop.timeline.renderer.voices() == 1
    loop.ring.header.stream += 1  # liveai started another output process
    loop.turn()
    assert loop.timeline.renderer.voices() == 0


def test_the_loop_ends_when_liveai_is_gone(loop: RenderLoop) -> None:
    assert loop.turn()
    os.close(loop.writer.fd)  # type: ignore[attr-defined]
    assert not loop.turn()
