"""The records liveai sends the render process: they come out as they went in, whole,
in order; a full pipe drops and counts (the loop never waits), and what follows a drop
begins with all notes off, so a lost note-off leaves nothing ringing."""

from __future__ import annotations

import os

from liveai.audio.voices import LIVEAI, PLAYER
from liveai.audio.wire import ALL_NOTES_OFF, PEDAL, RECORD, RecordReader, RecordWriter, open_pipe


def test_records_come_out_as_they_went_in() -> None:
    r, w = open_pipe()
    writer, reader = RecordWriter(w), RecordReader(r)
    assert reader.read() == []
    sent = [(1.5, 60, 100, LIVEAI), (1.75, PEDAL, 127, PLAYER), (2.0, ALL_NOTES_OFF, 0, LIVEAI)]
    for record in sent:
        assert writer.send(*record)
    assert reader.read() == sent and writer.dropped == 0
    os.close(r)
    os.close(w)


def test_a_record_split_across_reads_is_kept_until_it_is_whole() -> None:
    r, w = open_pipe()
    reader = RecordReader(r)
    data = RECORD.pack(1.0, 64, 90, PLAYER)
    os.write(w, data[:7])
    assert reader.read() == []
    os.write(w, data[7:])
    assert reader.read() == [(1.0, 64, 90, PLAYER)]
    os.close(r)
    os.close(w)


def test_a_full_pipe_drops_and_counts_then_all_notes_off_comes_first() -> None:
    r, w = open_pipe()
    writer, reader = RecordWriter(w), RecordReader(r)
    sent = 0
    while writer.send(float(sent), 60, 100, LIVEAI):  # nobody reads: it fills, and never blocks
        sent += 1
    assert writer.dropped == 1 and sent > 1000
    assert not writer.send(0.0, 60, 0, LIVEAI) and writer.dropped == 2  # the note-off is lost
    assert len(reader.read()) == sent
    assert writer.send(9.0, 62, 100, LIVEAI)
    assert reader.read() == [(9.0, ALL_NOTES_OFF, 0, LIVEAI), (9.0, 62, 100, LIVEAI)]
    assert writer.send(10.0, 62, 0, LIVEAI) and reader.read() == [(10.0, 62, 0, LIVEAI)]  # once
    os.close(r)
    os.close(w)
