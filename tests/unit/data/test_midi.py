"""MIDI files in and out: a round trip through a file, and a clear error for a broken one."""

from __future__ import annotations

import math
from pathlib import Path

import pretty_midi
import pytest
from note_checks import assert_notes_close

from liveai.data.midi import (
    MidiFileError,
    encode_midi,
    midi_files,
    midi_to_notes,
    notes_to_midi,
    pedal_spans,
    read_notes,
    sustained,
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
    assert_notes_close(midi_to_notes(notes_to_midi(codec.decode_tokens(toks))), notes)


def test_a_broken_file_is_a_clear_error_and_suffixes_match_in_any_case(tmp_path: Path) -> None:
    (tmp_path / "broken.MID").write_bytes(b"MThd\x00\x00\x00\x06not midi at all")
    (tmp_path / "notes.txt").write_text("not a MIDI file")
    assert midi_files(tmp_path) == [tmp_path / "broken.MID"]
    with pytest.raises(MidiFileError, match="cannot read MIDI file .*broken.MID"):
        read_notes(tmp_path / "broken.MID")


def _pedalled(tmp_path: Path, controls: list[tuple[float, int, int]]) -> Path:
    """Keys C, E, C: released at 0.5, 1.5 and 3.5 s; the pedal as `controls` says."""
    pm = notes_to_midi([Note(0.0, 0.5, 60, 80), Note(1.0, 1.5, 64, 80), Note(3.0, 3.5, 60, 80)])
    pm.instruments[0].control_changes = [
        pretty_midi.ControlChange(number, value, t) for t, number, value in controls
    ]
    path = tmp_path / "pedal.mid"
    pm.write(str(path))
    return path


def test_sustain_holds_released_keys_until_the_pedal_lifts_or_the_key_returns(tmp_path: Path) -> None:
    path = _pedalled(tmp_path, [(0.2, 64, 127), (2.5, 64, 0)])
    assert [n.end for n in read_notes(path)] == pytest.approx([0.5, 1.5, 3.5])  # written, by default
    # C rings to the lift, E too; the pedal is up when the last C is released
    assert [n.end for n in read_notes(path, sustain=True)] == pytest.approx([2.5, 2.5, 3.5], abs=1e-3)
    path = _pedalled(tmp_path, [(0.2, 64, 127), (4.0, 64, 0)])
    # C struck again at 3.0 ends the first C's held tail; the last C rings to the lift
    assert [n.end for n in read_notes(path, sustain=True)] == pytest.approx([3.0, 4.0, 4.0], abs=1e-3)


def test_reset_all_controllers_lifts_the_pedal_and_a_pedal_never_lifted_holds_to_the_end(
    tmp_path: Path,
) -> None:
    path = _pedalled(tmp_path, [(0.2, 64, 127), (2.0, 121, 0)])
    assert [n.end for n in read_notes(path, sustain=True)] == pytest.approx([2.0, 2.0, 3.5], abs=1e-3)
    path = _pedalled(tmp_path, [(0.2, 64, 127)])
    assert [n.end for n in read_notes(path, sustain=True)] == pytest.approx([3.0, 3.5, 3.5], abs=1e-3)


def test_pedal_spans_read_values_as_a_synth_does() -> None:
    cc = pretty_midi.ControlChange
    # the mod wheel is no pedal; 126 is down, never lifted
    controls = [
        cc(64, 0, 0.1),  # up while up: nothing
        cc(64, 100, 1.0),
        cc(64, 64, 1.5),  # pressed further: the first press counts
        cc(64, 63, 2.0),  # 63 is up
        cc(121, 0, 2.5),  # reset while up: nothing
        cc(64, 127, 4.0),
        cc(121, 0, 5.0),
        cc(64, 127, 3.0),
        cc(64, 1, 3.5),  # out of order in the list: sorted by time
        cc(1, 127, 6.0),
        cc(64, 126, 7.0),
    ]
    assert pedal_spans(controls) == [(1.0, 2.0), (3.0, 3.5), (4.0, 5.0), (7.0, math.inf)]


def test_sustained_ties_and_one_sound_per_key() -> None:
    spans = [(1.0, 2.0)]
    # struck again: the first sound ends there
    notes = [
        Note(0.0, 1.0, 60, 80),  # released as the pedal goes down: held
        Note(0.5, 2.0, 62, 80),  # released as it lifts: not held
        Note(1.2, 1.4, 64, 80),
        Note(1.6, 1.8, 64, 80),
    ]
    assert [n.end for n in sustained(notes, spans)] == [2.0, 2.0, 1.6, 2.0]
    # pretty_midi's re-strike before the key is up
    overlapping = [
        Note(0.0, 1.5, 67, 80),
        Note(1.0, 1.5, 67, 80),
    ]
    assert [n.end for n in sustained(overlapping, [(0.0, 5.0)])] == [1.0, 5.0]
    assert sustained(notes, []) == notes and sustained([], spans) == []
