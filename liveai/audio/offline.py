"""`liveai render`: a MIDI file played by the neural synth into a WAV file, through the
renderer the live engine plays with (`SynthRenderer`, `render_notes`): what a file
renders to is what the stream plays, before the stream's `audio.gain`.

Bad input is a clear one-line error and exit 2: a MIDI file that cannot be read or holds
no notes (MidiFileError), a synth model that is missing, broken or not a synth
(ConfigError, as the live engine's `audio.model`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from ..config import Config
from ..data.audio import AudioFileError, write_wav
from ..data.midi import read_notes
from ..errors import MidiFileError
from ..runtime.loading import load_synth
from .renderer import SynthRenderer, render_notes

TAIL_S = 0.5  # rendered after the last note ends: its release
PROGRESS_AFTER_S = 1.0  # the progress bar appears once a render has taken this long


def render_midi(
    config: Config, midi: str | Path, out: str | Path, model: str | None = None, progress: bool = True
) -> dict[str, Any]:
    """Render `midi` with the synth (`model`, else `audio.model`, else the shipped
    synth) to a 16-bit mono WAV at the model's rate; a report of what was done."""
    notes = read_notes(midi, sustain=True)  # a pedalled file sounds as a synth plays it
    if not Path(out).parent.is_dir():
        raise AudioFileError(f"cannot write {out}: no folder {Path(out).parent}")
    if not notes:
        raise MidiFileError(f"{midi} holds no notes to render")
    net, path = load_synth(model or config.audio.model, "render --model" if model else "audio.model")
    torch.set_num_threads(config.model.threads)
    rate = net.config.sample_rate
    renderer = SynthRenderer(net, polyphony=config.audio.polyphony)
    seconds = max(n.end for n in notes) + TAIL_S
    started = time.perf_counter()
    with tqdm(
        total=round(seconds * rate),
        desc="render",
        unit="sample",
        unit_scale=True,
        delay=PROGRESS_AFTER_S,
        disable=not progress,
        leave=False,
    ) as bar:
        audio = render_notes(renderer, notes, tail_s=TAIL_S, progress=bar.update)
    render_s = time.perf_counter() - started
    try:
        write_wav(out, audio, rate)
    except OSError as exc:
        raise AudioFileError(f"cannot write {out}: {exc}") from exc
    return {
        "wav": str(out),
        "seconds": round(len(audio) / rate, 3),
        "samples": len(audio),
        "sample_rate": rate,
        "notes": len(notes),
        "render_s": round(render_s, 3),
        "x_realtime": round(len(audio) / rate / max(render_s, 1e-9), 2),
        "model": str(path),
        "clipped_samples": int((abs(audio) > 1.0).sum()),
    }
