"""`liveai generate` and `liveai evaluate` as a user runs them, with the shipped models."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pretty_midi
import pytest

from liveai.data.midi import notes_to_midi
from liveai.music.note import Note

# A C major tune, two bars of quavers and crotchets at 120 BPM, twice.
TUNE = [60, 62, 64, 65, 67, 65, 64, 62, 60, 64, 67, 72, 71, 67, 65, 64, 62, 59, 60, 60]


def liveai(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "liveai", *map(str, args)], capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def prime(tmp_path: Path) -> Path:
    notes, t = [], 0.0
    for _ in range(2):
        for i, pitch in enumerate(TUNE):
            length = 0.5 if i % 4 == 3 else 0.25
            notes.append(Note(t, t + length * 0.9, pitch, 80))
            t += length
    path = tmp_path / "prime.mid"
    notes_to_midi(notes).write(str(path))
    return path


@pytest.mark.parametrize("model", ["gru", "transformer"])
def test_generate_continues_in_the_key_and_at_the_pace_of_the_prime(prime: Path, tmp_path: Path, model: str):
    out = tmp_path / "out.mid"
    done = liveai("generate", "--prime", prime, "--seconds", 12, "--out", out, "--model", model, "--seed", 3)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["model"] == model and report["prime_key"] == "C major"
    assert report["continuation_key"] == "C major", report
    ratio = report["continuation_notes_per_second"] / report["prime_notes_per_second"]
    assert 0.5 <= ratio <= 2.0, report
    midi = pretty_midi.PrettyMIDI(str(out))
    assert [i.name for i in midi.instruments] == ["prime", "continuation"]
    assert len(midi.instruments[1].notes) == report["continuation_notes"] >= 8
    assert all(n.pitch % 12 in {0, 2, 4, 5, 7, 9, 11} for n in midi.instruments[1].notes)


def midi_bytes(division: int, tempo_us: int) -> bytes:
    """A one-note MIDI file with the given header division and tempo (0 for either: broken)."""
    track = (
        b"\x00\xff\x51\x03"
        + tempo_us.to_bytes(3, "big")
        + b"\x00\x90\x3c\x40\x60\x80\x3c\x00\x00\xff\x2f\x00"
    )
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, division) + b"MTrk" + struct.pack(">I", len(track)) + track


BROKEN = {
    "garbled.mid": b"MThd\x00\x00\x00\x06 not really",
    "no_ticks.mid": midi_bytes(0, 500000),
    "no_tempo.mid": midi_bytes(96, 0),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_generate_refuses_a_broken_prime_with_one_clear_line(tmp_path: Path, name: str):
    broken = tmp_path / name
    broken.write_bytes(BROKEN[name])
    done = liveai("generate", "--prime", broken, "--seconds", 5, "--out", tmp_path / "x.mid")
    assert done.returncode == 2 and name in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.mid").exists()


def test_evaluate_scores_a_folder_and_skips_broken_files(prime: Path, tmp_path: Path):
    (tmp_path / "broken.mid").write_bytes(b"not midi at all")
    for name, data in BROKEN.items():
        (tmp_path / name).write_bytes(data)
    done = liveai("evaluate", tmp_path, "--model", "gru")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["model"] == "gru" and report["files"] == 1 and report["events"] > 50
    assert report["skipped"] == 4 and 0 < report["bits_per_event"] < 8
    assert all(name in done.stderr for name in [*BROKEN, "broken.mid"]) and "Traceback" not in done.stderr
