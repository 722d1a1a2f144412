"""MIDI files in and out (pretty_midi): timed notes, tokens, and clear errors for files
that are not quite MIDI."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pretty_midi

from ..errors import MidiFileError
from ..models import codec
from ..music.note import Note

MIDI_SUFFIXES = (".mid", ".midi")  # compared in lower case
# What pretty_midi/mido raise for a file that is not (quite) MIDI: a header with 0 ticks
# per beat or a tempo of 0 divides by zero.
_BROKEN = (OSError, EOFError, ValueError, KeyError, IndexError, ZeroDivisionError, OverflowError)


def is_midi(path: Path) -> bool:
    return path.suffix.lower() in MIDI_SUFFIXES


def midi_files(folder: Path) -> list[Path]:
    """Every MIDI file under `folder`, sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and is_midi(p))


def midi_to_notes(midi: pretty_midi.PrettyMIDI | str | Path) -> list[Note]:
    """All non-drum notes of a MIDI file (or PrettyMIDI object), sorted by start."""
    pm = midi if isinstance(midi, pretty_midi.PrettyMIDI) else pretty_midi.PrettyMIDI(str(midi))
    notes = [
        Note(float(n.start), float(n.end), int(n.pitch), int(n.velocity))
        for inst in pm.instruments
        if not inst.is_drum
        for n in inst.notes
    ]
    notes.sort(key=lambda n: (n.start, n.pitch))
    return notes


def read_notes(path: str | Path) -> list[Note]:
    """`midi_to_notes` with a MidiFileError naming the file when it cannot be read."""
    try:
        return midi_to_notes(path)
    except _BROKEN as exc:
        raise MidiFileError(f"cannot read MIDI file {path}: {str(exc) or type(exc).__name__}") from exc


def read_quarter_notes(path: str | Path) -> list[tuple[float, float, int, int]]:
    """(start, end, pitch, velocity) of every non-drum note, in quarter notes from the
    file's start (its own tempo map), sorted by start; MidiFileError if it cannot be read."""
    try:
        pm = pretty_midi.PrettyMIDI(str(path))
        ticks_per_quarter = float(pm.resolution)
        rows = [(pm.time_to_tick(n.start) / ticks_per_quarter, pm.time_to_tick(n.end) / ticks_per_quarter,
                 int(n.pitch), int(n.velocity))
                for inst in pm.instruments if not inst.is_drum for n in inst.notes]
    except _BROKEN as exc:
        raise MidiFileError(f"cannot read MIDI file {Path(path).name}: {str(exc) or type(exc).__name__}") from exc
    return sorted(rows)


def encode_midi(midi: pretty_midi.PrettyMIDI | str | Path, *, start_token: bool = True) -> list[int]:
    """Tokens of a MIDI file, beginning with START by default (MidiFileError if broken)."""
    notes = midi_to_notes(midi) if isinstance(midi, pretty_midi.PrettyMIDI) else read_notes(midi)
    return codec.encode_notes(notes, start_token=start_token)


def notes_to_midi(notes: Sequence[Note], *, program: int = 0, name: str = "") -> pretty_midi.PrettyMIDI:
    pm = pretty_midi.PrettyMIDI()
    pm.instruments.append(notes_to_instrument(notes, program=program, name=name))
    return pm


def notes_to_instrument(notes: Sequence[Note], *, program: int = 0, name: str = "") -> pretty_midi.Instrument:
    inst = pretty_midi.Instrument(program=program, name=name)
    for n in notes:
        inst.notes.append(
            pretty_midi.Note(velocity=int(n.velocity), pitch=int(n.pitch), start=float(n.start), end=float(n.end))
        )
    return inst


def decode_to_midi(tokens: Sequence[int], *, program: int = 0) -> pretty_midi.PrettyMIDI:
    return notes_to_midi(codec.decode_tokens(tokens), program=program)
