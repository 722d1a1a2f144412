"""Audio files and the reference renderer: WAV in and out with the standard
library, and FluidSynth rendering notes through a General MIDI soundfont, the sound
the synth learns and is measured against."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import LiveaiError
from ..music.note import Note
from .midi import notes_to_midi

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")  # Debian's fluid-soundfont-gm
# General MIDI's Electric Piano 1: the instrument the shipped synth plays (no sub-octaves, which an
# excitation of f0's harmonics could not make, as the Drawbar Organ has)
PROGRAM = 4


class AudioFileError(LiveaiError):
    """A WAV file cannot be read or written, or FluidSynth failed."""


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int) -> None:
    """Mono float audio (-1..1) as 16-bit PCM; louder samples are clipped."""
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """(mono float32 audio, sample rate) of a 16-bit PCM WAV; channels are averaged."""
    try:
        with wave.open(str(path), "rb") as f:
            if f.getsampwidth() != 2:
                raise AudioFileError(f"{path}: {8 * f.getsampwidth()}-bit samples; 16-bit PCM is read")
            frames = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
            channels, rate = f.getnchannels(), f.getframerate()
    except (wave.Error, EOFError, OSError) as exc:
        raise AudioFileError(f"cannot read WAV {path}: {exc}") from exc
    audio = frames.reshape(-1, channels).astype(np.float32).mean(axis=1) / 32768.0
    return audio, rate


def fluidsynth_render(
    notes: Sequence[Note],
    sample_rate: int,
    program: int = PROGRAM,
    soundfont: Path = SOUNDFONT,
    gain: float = 0.5,
) -> np.ndarray:
    """FluidSynth's rendering of `notes` as one instrument, mono, dry (reverb and chorus
    off), from sample 0; as long as the notes plus their release."""
    fluidsynth = shutil.which("fluidsynth")
    if fluidsynth is None or not soundfont.exists():
        raise AudioFileError(
            "fluidsynth and a soundfont are needed (scripts/setup installs fluidsynth, fluid-soundfont-gm)"
        )
    with tempfile.TemporaryDirectory(prefix="liveai-fluid-") as tmp:
        mid, wav = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        notes_to_midi(notes, program=program).write(str(mid))
        cmd = [
            fluidsynth,
            "-ni",
            "-q",
            "-R",
            "0",
            "-C",
            "0",
            "-g",
            str(gain),
            "-r",
            str(sample_rate),
            "-F",
            str(wav),
            str(soundfont),
            str(mid),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if done.returncode != 0 or not wav.exists():
            raise AudioFileError(f"fluidsynth failed ({done.returncode}): {done.stderr.strip()[:300]}")
        audio, rate = read_wav(wav)
    if rate != sample_rate:
        raise AudioFileError(f"fluidsynth wrote {rate} Hz, not {sample_rate}")
    return audio
