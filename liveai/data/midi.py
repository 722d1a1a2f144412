"""MIDI files in and out (pretty_midi): timed notes, tokens, and clear errors for files
that are not quite MIDI."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from pathlib import Path

import pretty_midi

from ..errors import MidiFileError
from ..events import pedal_of
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


def midi_to_notes(midi: pretty_midi.PrettyMIDI | str | Path, *, sustain: bool = False) -> list[Note]:
    """All non-drum notes of a MIDI file (or PrettyMIDI object), sorted by start; with
    `sustain`, as long as each part's sustain pedal holds them (what a synth plays). A
    part is pretty_midi's instrument: one track's notes of one channel and program, so a
    pedal kept in a track of its own, away from the notes, holds nothing."""
    pm = midi if isinstance(midi, pretty_midi.PrettyMIDI) else pretty_midi.PrettyMIDI(str(midi))
    notes: list[Note] = []
    for inst in pm.instruments:
        if inst.is_drum:
            continue
        written = [Note(float(n.start), float(n.end), int(n.pitch), int(n.velocity)) for n in inst.notes]
        notes += sustained(written, pedal_spans(inst.control_changes)) if sustain else written
    notes.sort(key=lambda n: (n.start, n.pitch))
    return notes


def pedal_spans(controls: Sequence[pretty_midi.ControlChange]) -> list[tuple[float, float]]:
    """(press, lift) times of a part's sustain pedal, from CC 64 (and CC 121, reset all
    controllers); a pedal never lifted is down to the end (inf)."""
    spans: list[tuple[float, float]] = []
    pressed: float | None = None
    for cc in sorted(controls, key=lambda c: c.time):  # stable: one instant keeps the file's order
        down = pedal_of(cc.number, cc.value)
        if down and pressed is None:
            pressed = float(cc.time)
        elif down is False and pressed is not None:
            spans.append((pressed, float(cc.time)))
            pressed = None
    if pressed is not None:
        spans.append((pressed, math.inf))
    return spans


def sustained(notes: Sequence[Note], spans: Sequence[tuple[float, float]]) -> list[Note]:
    """`notes` as the pedal holds them, one sound per key, as a synth plays them: a key
    released while the pedal is down (pressed at or before the release, lifted after it)
    sounds until the pedal lifts, or the part's last note ends (a pedal never lifted).
    A key struck again ends the sound before it."""
    if not spans or not notes:
        return list(notes)
    presses = [press for press, _ in spans]
    last_end = max(n.end for n in notes)
    onsets: dict[int, list[float]] = {}
    for n in notes:
        onsets.setdefault(n.pitch, []).append(n.start)
    for starts in onsets.values():
        starts.sort()
    held: list[Note] = []
    for n in notes:
        end = n.end
        i = bisect.bisect_right(presses, n.end) - 1  # the last press at or before the release
        if i >= 0 and n.end < spans[i][1]:
            end = last_end if math.isinf(spans[i][1]) else spans[i][1]
        starts = onsets[n.pitch]
        j = bisect.bisect_right(starts, n.start)  # the same key struck again after this one began
        if j < len(starts) and starts[j] < end:
            end = starts[j]
        held.append(n._replace(end=end))
    return held


def read_notes(path: str | Path, *, sustain: bool = False) -> list[Note]:
    """`midi_to_notes` with a MidiFileError naming the file when it cannot be read."""
    try:
        return midi_to_notes(path, sustain=sustain)
    except _BROKEN as exc:
        raise MidiFileError(f"cannot read MIDI file {path}: {str(exc) or type(exc).__name__}") from exc


def read_quarter_notes(path: str | Path) -> list[tuple[float, float, int, int]]:
    """(start, end, pitch, velocity) of every non-drum note, in quarter notes from the
    file's start (its own tempo map), sorted by start; MidiFileError if it cannot be read."""
    try:
        pm = pretty_midi.PrettyMIDI(str(path))
        ticks_per_quarter = float(pm.resolution)
        rows = [
            (
                pm.time_to_tick(n.start) / ticks_per_quarter,
                pm.time_to_tick(n.end) / ticks_per_quarter,
                int(n.pitch),
                int(n.velocity),
            )
            for inst in pm.instruments
            if not inst.is_drum
            for n in inst.notes
        ]
    except _BROKEN as exc:
        raise MidiFileError(
            f"cannot read MIDI file {Path(path).name}: {str(exc) or type(exc).__name__}"
        ) from exc
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
            pretty_midi.Note(
                velocity=int(n.velocity), pitch=int(n.pitch), start=float(n.start), end=float(n.end)
            )
        )
    return inst
