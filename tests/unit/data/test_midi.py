"""MIDI files in and out: a round trip through a file, and a clear error for a broken one."""

from __future__ import annotations

from pathlib import Path

import pytest
from note_checks import assert_notes_close

from liveai.data.midi import (
    MidiFileError,
    decode_to_midi,
    encode_midi,
    midi_files,
    midi_to_notes,
    notes_to_midi,
    read_notes,
)
from liveai.models import codec
from liveai.music.note import Note


def test_midi_round_trip(tmp_path: Path) -> None:
    notes = [Note(0.0, 0.5, 60, 80), Note(0.25, 1.0, 64, 50), Note(1.0, 2.0, 67, 110)]
    path = tmp_path / "x.mid"
    notes_to_midi(notes).write(str(path))
    toks = encode_midi(path)
    assert toks[0] == codec.START
    assert_notes_close(codec.decode_tokens(toks), notes)
    assert_notes_close(midi_to_notes(decode_to_midi(toks)), notes)


def test_a_broken_file_is_a_clear_error_and_suffixes_match_in_any_case(tmp_path: Path) -> None:
    (tmp_path / "broken.MID").write_bytes(b"MThd\x00\x00\x00\x06not midi at all")
    (tmp_path / "notes.txt").write_text("not a MIDI file")
    assert midi_files(tmp_path) == [tmp_path / "broken.MID"]
    with pytest.raises(MidiFileError, match="cannot read MIDI file .*broken.MID"):
        read_notes(tmp_path / "broken.MID")
