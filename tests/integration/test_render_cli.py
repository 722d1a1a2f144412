"""`liveai render` as a user runs it, with the shipped synth (models/synth.pt): a MIDI
file in, a WAV out as long as the notes and their tail, closer to FluidSynth than the
sine baseline of scripts/eval_synth.py (measured by the same code); bad input is one
clear line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
from conftest import need
from synth_scores import score_clip

from liveai.audio.offline import TAIL_S
from liveai.audio.quality import fit
from liveai.data.audio import fluidsynth_render, read_wav
from liveai.data.midi import notes_to_midi, read_notes
from liveai.models.checkpoint import load_checkpoint
from liveai.models.shipped import SYNTH, find_checkpoint
from liveai.music.note import Note

SHIPPED = find_checkpoint(SYNTH)  # models/synth.pt

# Three seconds at 120 BPM: a held bass note under three chords, then a melody over the last chord.
NOTES = [
    Note(0.0, 2.5, 48, 70),  # held
    *[Note(0.0, 0.75, p, 90) for p in (60, 64, 67)],
    *[Note(0.75, 1.5, p, 80) for p in (65, 69, 72)],
    *[Note(1.5, 2.25, p, 100) for p in (67, 71, 74)],
    Note(2.25, 2.5, 76, 95),
    Note(2.5, 3.0, 79, 85),
    *[Note(2.25, 3.0, p, 75) for p in (60, 64, 67)],
]


def liveai(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "liveai", *map(str, args)], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def model_args() -> list[str]:
    """No --model: `liveai render` plays the shipped synth."""
    assert SHIPPED.exists(), f"the shipped synth {SHIPPED} is missing"
    return []


@pytest.fixture
def tune(tmp_path: Path) -> Path:
    path = tmp_path / "tune.mid"
    notes_to_midi(NOTES).write(str(path))
    return path


def test_render_writes_the_notes_and_their_tail_closer_to_fluidsynth_than_the_sine_baseline(
    tune: Path, tmp_path: Path, model_args: list[str]
):
    need("fluidsynth")
    wav = tmp_path / "out.wav"
    done = liveai("render", tune, wav, *model_args)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    audio, rate = read_wav(wav)
    model_path = model_args[1] if model_args else SHIPPED
    net, _ = load_checkpoint(model_path, "cpu", archs=("synth",))
    notes = read_notes(tune)
    assert rate == net.config.sample_rate == report["sample_rate"]
    assert len(audio) == round((max(n.end for n in notes) + TAIL_S) * rate) == report["samples"] == 168_000
    assert report["wav"] == str(wav) and report["notes"] == len(NOTES) and report["seconds"] == 3.5
    assert report["render_s"] > 0 and report["x_realtime"] > 0
    assert audio.std() > 1e-3  # it plays

    reference = fit(fluidsynth_render(notes, rate), len(audio))  # as scripts/prepare_audio.py cuts its clips
    scores = score_clip(notes, reference, audio, net.config)
    assert scores["model"]["mrstft"] < scores["sine"]["mrstft"], scores


BROKEN = {"garbled.mid": b"MThd\x00\x00\x00\x06 not really", "empty.mid": b""}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_midi_file_is_one_clear_line_and_exit_2(tmp_path: Path, name: str, model_args: list[str]):
    broken = tmp_path / name
    broken.write_bytes(BROKEN[name])
    wav = tmp_path / "out.wav"
    done = liveai("render", broken, wav, *model_args)
    assert done.returncode == 2 and name in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not wav.exists()


def test_a_midi_file_without_notes_is_one_clear_line_and_exit_2(tmp_path: Path, model_args: list[str]):
    silent = tmp_path / "silent.mid"
    notes_to_midi([]).write(str(silent))
    done = liveai("render", silent, tmp_path / "out.wav", *model_args)
    assert done.returncode == 2 and "silent.mid holds no notes" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_missing_midi_file_is_one_clear_line_and_exit_2(tmp_path: Path, model_args: list[str]):
    done = liveai("render", tmp_path / "nowhere.mid", tmp_path / "out.wav", *model_args)
    assert done.returncode == 2 and "nowhere.mid" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("kind", ["missing", "garbage", "not a synth"])
def test_a_missing_or_wrong_model_is_one_clear_line_and_exit_2(tune: Path, tmp_path: Path, kind: str):
    model = {
        "missing": tmp_path / "no_such_synth.pt",
        "garbage": tmp_path / "garbage.pt",
        "not a synth": find_checkpoint("vae"),
    }[kind]
    if kind == "garbage":
        model.write_bytes(b"not a checkpoint at all")
    wav = tmp_path / "out.wav"
    done = liveai("render", tune, wav, "--model", model)
    assert done.returncode == 2 and str(model) in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not wav.exists()


def test_a_note_released_under_the_sustain_pedal_rings_until_the_pedal_lifts(
    tmp_path: Path, model_args: list[str]
):
    """As a synth plays the file: the key is up at 0.25 s; the pedal, if pressed, at 1.5 s."""

    def render(pedal: bool) -> tuple[np.ndarray, int]:
        pm = notes_to_midi([Note(0.0, 0.25, 60, 100)])
        if pedal:
            pm.instruments[0].control_changes = [
                pretty_midi.ControlChange(64, 127, 0.0),
                pretty_midi.ControlChange(64, 0, 1.5),
            ]
        path, wav = tmp_path / f"pedal-{pedal}.mid", tmp_path / f"pedal-{pedal}.wav"
        pm.write(str(path))
        done = liveai("render", path, wav, *model_args)
        assert done.returncode == 0, done.stderr
        return read_wav(wav)

    dry, rate = render(pedal=False)
    assert len(dry) == round((0.25 + TAIL_S) * rate)
    assert np.abs(dry[int(0.7 * rate) :]).max() < 1e-3  # silent once released
    held, rate = render(pedal=True)
    assert len(held) == round((1.5 + TAIL_S) * rate)
    assert np.sqrt(np.mean(held[int(0.9 * rate) : int(1.1 * rate)] ** 2)) > 1e-2  # still sounding at 1 s
