"""A player's MIDI file cut into the morph VAE's two-bar melodies on its own beat grid
(ticks per beat, tempo map, time signatures), as a DAW or notation program exports it."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest

from liveai.data.grid import NO_BARS, NO_GRID, grid_melodies
from liveai.errors import MidiFileError
from liveai.learn.folder import read_folder
from liveai.learn.vae import read_melodies
from liveai.models.melody import HOLD, REST

TPQ = 480
SCALE = [60, 62, 64, 65, 67, 69, 71, 72]


def write(
    path: Path,
    notes: list[tuple[int, int, int]],
    metas: list[tuple[int, mido.MetaMessage]] = (),
    tpq: int = TPQ,
) -> Path:
    """A type-0 file as a DAW writes it: (on tick, off tick, pitch) notes and timed metas."""
    events = [(tick, 0, m) for tick, m in metas]
    for on, off, pitch in notes:
        events += [
            (on, 2, mido.Message("note_on", note=pitch, velocity=80)),
            (off, 1, mido.Message("note_off", note=pitch, velocity=0)),
        ]
    track, now = mido.MidiTrack(), 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - now))
        now = tick
    f = mido.MidiFile(ticks_per_beat=tpq)
    f.tracks.append(track)
    f.save(str(path))
    return path


def tempo(bpm: float) -> mido.MetaMessage:
    return mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))


def meter(num: int, den: int) -> mido.MetaMessage:
    return mido.MetaMessage("time_signature", numerator=num, denominator=den)


def quarters(n: int, start: int = 0, jitter: list[int] | None = None) -> list[tuple[int, int, int]]:
    """n quarter notes up and down the scale from quarter `start`, each held 3/4 of a beat."""
    jitter = jitter or [0] * n
    return [
        ((start + i) * TPQ + jitter[i], (start + i) * TPQ + jitter[i] + 3 * TPQ // 4, SCALE[i % 8])
        for i in range(n)
    ]


def melodies_of(path: Path) -> list[list[int]]:
    found, why = grid_melodies(path, path.name)
    assert (why is None) == bool(found), why
    return found


def expected_pass(pitches: list[int]) -> list[int]:
    """Eight quarter notes held 3/4 of a beat: the pitch, two holds, a rest, per beat."""
    return [t for p in pitches for t in (p, HOLD, HOLD, REST)]


def test_bars_come_from_the_ticks_whatever_the_tempo_map(tmp_path: Path):
    """Tempo changes every bar (120, 90, 140 BPM): a grid in seconds would drift, the
    ticks do not; the windows start on the bar lines, one bar apart."""
    notes = quarters(16)
    metas = [(0, meter(4, 4)), (0, tempo(120)), (4 * TPQ, tempo(90)), (8 * TPQ, tempo(140))]
    got = melodies_of(write(tmp_path / "daw.mid", notes, metas))
    assert got[0] == expected_pass(SCALE)
    assert got[1] == expected_pass(SCALE[4:] + SCALE[:4])  # the next bar line, 4 quarters on
    assert len(got) == 3  # bars 1-2, 2-3 and 3-4: the bar line after the last note closes the file


def test_the_top_voice_over_an_accompaniment_and_no_meter_is_four_four(tmp_path: Path):
    chords = [(i * TPQ, (i + 1) * TPQ, 48 + (i % 3)) for i in range(8)]  # a lower voice on every beat
    got = melodies_of(write(tmp_path / "two-voices.mid", quarters(8) + chords))
    assert got == [expected_pass(SCALE)]


def test_a_played_take_on_a_click_is_snapped_to_it(tmp_path: Path):
    """Up to 12 ticks of 480 off the click (6 ms at 120 BPM); the downbeat of the second
    window comes early, and still begins it."""
    jitter = [7, -9, 4, -12, -9, 10, -3, 8, -6, 5, -4, 3]
    got = melodies_of(write(tmp_path / "take.mid", quarters(12, jitter=jitter)))
    assert got == [expected_pass(SCALE), expected_pass(SCALE[4:] + SCALE[:4])]


def test_meters_three_four_has_no_window_four_two_is_two_bars_of_four_four(tmp_path: Path):
    """A 3/4 stretch gives none; after the change to 4/4 the windows start on its bar lines."""
    waltz_then_four = write(
        tmp_path / "change.mid", quarters(6 + 8, start=0), [(0, meter(3, 4)), (6 * TPQ, meter(4, 4))]
    )
    got = melodies_of(waltz_then_four)
    assert got[0] == expected_pass([SCALE[(6 + i) % 8] for i in range(8)])
    assert len(got) == 1
    assert grid_melodies(write(tmp_path / "waltz.mid", quarters(12), [(0, meter(3, 4))]), "w") == (
        [],
        NO_BARS,
    )
    alla_breve = melodies_of(write(tmp_path / "breve.mid", quarters(16), [(0, meter(4, 2))]))
    assert alla_breve[:2] == [expected_pass(SCALE), expected_pass(SCALE[4:] + SCALE[:4])]


def test_a_free_time_recording_has_no_grid(tmp_path: Path):
    rng = np.random.default_rng(3)
    ticks = np.cumsum(rng.integers(90, 700, 40))  # anywhere between the beats
    notes = [(int(t), int(t) + 200, 60 + i % 12) for i, t in enumerate(ticks)]
    assert grid_melodies(write(tmp_path / "free.mid", notes), "free.mid") == ([], NO_GRID)


def test_a_file_that_is_not_midi_is_a_clear_error(tmp_path: Path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06 not really")
    with pytest.raises(MidiFileError, match="bad.mid"):
        grid_melodies(bad, "bad.mid")


def test_the_folder_split_and_the_unusable_files_counted(tmp_path: Path):
    for k in range(6):  # six songs, each its own (a byte-identical copy would be skipped as a duplicate)
        write(tmp_path / f"song{k}.mid", [(on, off, pitch + k) for on, off, pitch in quarters(16)])
    write(tmp_path / "waltz.mid", quarters(12), [(0, meter(3, 4))])
    rng = np.random.default_rng(4)
    write(tmp_path / "free.mid", [(int(t), int(t) + 100, 64) for t in np.cumsum(rng.integers(90, 700, 30))])
    folder = read_folder(tmp_path, 16, 512)
    held = {"song2.mid", "waltz.mid"}
    got = read_melodies(folder, held)
    assert got.files == 6 and got.held_files == 1 and got.train_files == 5
    assert got.skipped_counts() == {NO_GRID: 1, NO_BARS: 1}
    assert len(got.train) == 5 * 3 and len(got.held) == 3 and got.train.shape[1] == 32


def test_no_melody_anywhere_is_refused_with_the_reasons(tmp_path: Path):
    write(tmp_path / "waltz.mid", quarters(12), [(0, meter(3, 4))])
    pm = pretty_midi.PrettyMIDI()
    pm.instruments.append(pretty_midi.Instrument(0))
    pm.instruments[0].notes.append(pretty_midi.Note(80, 60, 0.0, 0.5))
    pm.write(str(tmp_path / "one-note.mid"))
    with pytest.raises(
        MidiFileError, match="no file .* gives a two-bar melody .*2 files: 2 no two bars of 4/4"
    ):
        read_melodies(read_folder(tmp_path, 16, 512), set())
