"""The shared ring: what goes in comes out in order across the wrap, neither side
passes the other, and a second mapping of its descriptor (the output process) sees
the same samples and counters."""

from __future__ import annotations

import os

import numpy as np

from liveai.audio.ring import Ring


def test_samples_come_out_in_order_across_the_wrap() -> None:
    ring = Ring.create(100)
    out = np.zeros(64, dtype=np.float32)
    sent = np.arange(1000, dtype=np.float32)
    got, at = [], 0
    while at < len(sent) or ring.filled():
        at += ring.write(sent[at : at + 37])
        n = ring.read_into(out)
        got.extend(out[:n].tolist())
    assert got == sent.tolist()
    ring.close()


def test_the_writer_never_overwrites_what_is_unread_and_the_reader_never_reads_ahead() -> None:
    ring = Ring.create(10)
    assert ring.write(np.ones(25, dtype=np.float32)) == 10 and ring.space() == 0
    out = np.full(16, 7.0, dtype=np.float32)
    assert ring.read_into(out) == 10 and (out[10:] == 7.0).all()  # a short read leaves the rest alone
    assert ring.read_into(out) == 0
    ring.close()


def test_after_an_underrun_every_sample_keeps_its_place_in_time() -> None:
    """The reader played 16 samples with only 4 there: the next sample written is
    sample 16, not sample 4 (late audio is dropped, not played late)."""
    ring = Ring.create(32)
    ring.write(np.arange(4, dtype=np.float32))
    out = np.zeros(16, dtype=np.float32)
    assert ring.read_into(out) == 4 and ring.read == 16
    assert ring.filled() == 0 and ring.space() == 32 and ring.write_position() == 16
    ring.write(np.arange(100, 132, dtype=np.float32))
    assert ring.written == 48
    assert ring.read_into(out) == 16 and out[0] == 100.0
    ring.close()


def test_another_mapping_of_the_descriptor_shares_samples_and_anchor() -> None:
    ring = Ring.create(64)
    other = Ring.attach(ring.fd)
    assert other.capacity == 64 and ring.anchor() is None
    ring.write(np.arange(10, dtype=np.float32))
    out = np.zeros(10, dtype=np.float32)
    assert other.read_into(out) == 10 and out.tolist() == list(range(10))
    assert ring.read == 10  # the reader's counter, seen by the writer
    other.set_anchor(10, 2_500_000_000)
    assert ring.anchor() == (10, 2.5)
    del other  # its map closes with it
    ring.close()


def test_the_callback_copies_counts_underruns_and_leaves_its_anchor() -> None:
    from liveai.audio.output import Callback

    class Status:
        output_underflow = False

    ring = Ring.create(8)
    read, write = __import__("os").pipe()
    callback = Callback(Ring.attach(ring.fd), write)
    ring.write(np.arange(1, 7, dtype=np.float32))
    out = np.zeros((4, 2), dtype=np.float32)
    callback(out, 4, None, Status())
    assert out[:, 0].tolist() == out[:, 1].tolist() == [1, 2, 3, 4]  # mono to every channel
    callback(out, 4, None, Status())
    # short: the last sample fading to silence, and counted
    assert np.allclose(out[:, 0], [5, 6, 6, 6 * 95 / 96]) and ring.header.underruns == 1
    assert ring.header.blocks == 2 and ring.header.frames == 4
    assert ring.anchor()[0] == 4 and ring.read == 8
    assert len(__import__("os").read(read, 16)) == 2  # one wake-up per callback
    ring.close()


def test_the_callback_drops_an_earlier_streams_samples_and_counts_no_underrun_before_the_first_block() -> (
    None
):
    """A new output process: what the last one left unplayed is not played, and the
    silence before the render process has played into this stream is no underrun."""
    from liveai.audio.output import Callback

    class Status:
        output_underflow = False

    ring = Ring.create(16)
    ring.header.render_pid = 1234  # a render process runs
    ring.write(np.full(8, 9.0, dtype=np.float32))  # the old stream's, never played
    read, write = os.pipe()
    os.set_blocking(write, False)
    attached = Ring.attach(os.dup(ring.fd))
    callback = Callback(attached, write)
    out = np.ones((4, 1), dtype=np.float32)
    callback(out, 4, None, Status())
    assert out[:, 0].tolist() == [0, 0, 0, 0] and ring.header.underruns == 0
    ring.write(np.arange(1, 3, dtype=np.float32))
    callback(out, 4, None, Status())
    assert out[0, 0] == 0 and ring.header.underruns == 1  # rising from the silence before it
    # The render process ends (liveai zeroes its number): the silence until the next one
    # plays is no underrun; once it has, a short ring is one again.
    ring.header.render_pid = 0
    callback(out, 4, None, Status())
    callback(out, 4, None, Status())
    assert ring.header.underruns == 1
    ring.header.render_pid = 4321
    callback(out, 4, None, Status())
    assert ring.header.underruns == 1
    ring.write(np.ones(2, dtype=np.float32))
    callback(out, 4, None, Status())
    assert ring.header.underruns == 2
    del callback
    attached.close()
    ring.close()
    os.close(read)
    os.close(write)


def play_with_gaps(blocks: list[tuple[int, int]], frames: int) -> tuple[np.ndarray, np.ndarray]:
    """A 440 Hz tone through the callback, each callback given `frames` and the ring
    `written` samples of it first (fewer than frames: a gap); (what played, the tone)."""
    from liveai.audio.output import Callback

    class Status:
        output_underflow = False

    ring = Ring.create(4096)
    read, write = os.pipe()
    os.set_blocking(write, False)
    attached = Ring.attach(os.dup(ring.fd))
    callback = Callback(attached, write)
    tone = (0.8 * np.sin(2 * np.pi * 440 * np.arange(4096) / 48_000)).astype(np.float32)
    played = []
    for start, written in blocks:
        ring.write(tone[start : start + written])
        out = np.zeros((frames, 1), dtype=np.float32)
        callback(out, frames, None, Status())
        played.append(out[:, 0].copy())
    del callback
    attached.close()
    ring.close()
    os.close(read)
    os.close(write)
    return np.concatenate(played), tone


def test_a_gap_fades_out_and_what_follows_fades_in_so_a_dropout_is_no_click() -> None:
    from liveai.audio.output import FADE

    # the second comes short
    audio, tone = play_with_gaps([(0, 256), (256, 100), (512, 256), (768, 256)], 256)
    slope = float(np.abs(np.diff(tone)).max())  # the tone's own largest step
    assert np.abs(np.diff(audio)).max() <= slope + 0.8 / FADE + 1e-6
    assert np.abs(audio[256 + 100 + FADE : 512]).max() == 0.0  # silence once faded
    assert np.allclose(audio[512 + FADE :], tone[512 + FADE : 1024])  # the tone again, whole


def test_a_gap_shorter_than_the_fade_rises_from_where_it_left() -> None:
    """Small blocks (a JACK period of 32): a gap of 20 samples leaves the fade part-way
    down, and the samples after it rise from there, not from silence."""
    from liveai.audio.output import FADE

    blocks = [(i * 32, 32) for i in range(4)] + [(128, 12)] + [(160 + i * 32, 32) for i in range(8)]
    audio, tone = play_with_gaps(blocks, 32)
    slope = float(np.abs(np.diff(tone)).max())
    assert np.abs(np.diff(audio)).max() <= slope + 0.8 / FADE + 1e-6
    assert np.allclose(audio[160 + FADE :], tone[160 + FADE : 416])


def test_a_gap_over_several_small_callbacks_falls_to_silence_in_the_fade_and_rises_over_several() -> None:
    from liveai.audio.output import FADE

    blocks = [(i * 32, 32) for i in range(4)] + [(0, 0)] * 5 + [(288 + i * 32, 32) for i in range(8)]
    audio, tone = play_with_gaps(blocks, 32)
    slope = float(np.abs(np.diff(tone)).max())
    assert np.abs(np.diff(audio)).max() <= slope + 0.8 / FADE + 1e-6
    assert np.abs(audio[128 + FADE : 288]).max() == 0.0  # silent 2 ms into the gap, as after a big block's
    assert np.allclose(audio[288 + FADE :], tone[288 + FADE : 544])
