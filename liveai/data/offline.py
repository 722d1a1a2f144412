"""`liveai generate` and `liveai evaluate`: the models offline, on MIDI files.

The same checkpoints, codec and sampling as the live server. Broken or unreadable
MIDI files are a clear error (generate) or skipped and counted (evaluate).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import pretty_midi

from ..config import Config
from ..errors import LiveaiError
from ..models.checkpoint import load_checkpoint
from ..models.sampling import Constraints
from ..models.shipped import find_checkpoint, model_folder
from ..models.tonality import KeyBalance, follow_key
from ..music.note import Note
from ..runtime.device import choose_device
from . import metrics
from .evaluate import evaluate_midi_files
from .generate import generate_continuation
from .midi import MidiFileError, midi_files, read_notes

log = logging.getLogger(__name__)


def _load(name: str | None, config: Config) -> tuple[Any, str]:
    name = name or config.model.continuation or "gru"
    path = find_checkpoint(name, config.model.folder)
    if not path.exists():
        if "/" in name or name.endswith(".pt"):
            raise LiveaiError(f"no model at {path}")
        raise LiveaiError(
            f"no model named {name!r} in {model_folder(config.model.folder)} (model.folder) "
            "nor among the shipped models"
        )
    model, _ = load_checkpoint(path, choose_device(config.model.device))
    return model, path.stem


def steering(prime: list[Note], key: str, pull: float) -> tuple[Constraints | None, KeyBalance | None]:
    """What keeps a continuation in the prime's key ("follow"), or nothing ("free")."""
    if key != "follow":
        return None, None
    classes, balance = follow_key(prime, pull)
    return (Constraints(pitch_classes=classes) if classes is not None else None), balance


def generate(
    config: Config,
    prime: str,
    seconds: float,
    out: str,
    model_name: str | None,
    temperature: float,
    top_p: float,
    seed: int | None,
    key: str = "follow",
) -> dict[str, Any]:
    """Continue the prime for `seconds`, write prime + continuation to `out`, and say
    how alike they are (key, pitch-class correlation, notes per second).

    key "follow" keeps the continuation in the prime's key as the duet does (its scale,
    the degrees in proportion: `duet.key_pull`); "free" lets the model go anywhere."""
    prime_notes = read_notes(prime)
    if not prime_notes:
        raise MidiFileError(f"{prime} holds no notes to continue")
    model, name = _load(model_name, config)
    constraints, balance = steering(prime_notes, key, config.duet.key_pull)
    midi: pretty_midi.PrettyMIDI = generate_continuation(
        model,
        prime,
        seconds,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        constraints=constraints,
        balance=balance,
    )
    midi.write(out)
    continuation = [
        Note(n.start, n.end, n.pitch, n.velocity)
        for inst in midi.instruments
        if inst.name == "continuation"
        for n in inst.notes
    ]
    shift = min((n.start for n in continuation), default=0.0)
    continuation = [Note(n.start - shift, n.end - shift, n.pitch, n.velocity) for n in continuation]
    return {
        "model": name,
        "prime": str(prime),
        "out": str(out),
        "seconds": seconds,
        "seed": seed,
        "key": key,
        **metrics.compare(prime_notes, continuation),
    }


def evaluate(config: Config, folder: str, model_name: str | None) -> dict[str, Any]:
    """Bits per event of the model on every MIDI file under `folder`."""
    root = Path(folder)
    if not root.is_dir():
        raise LiveaiError(f"{folder} {'is not a folder' if root.exists() else 'does not exist'}")
    files = midi_files(root)
    readable, skipped = [], []
    for path in files:
        try:
            read_notes(path)
            readable.append(path)
        except MidiFileError as exc:
            log.warning("%s", exc)
            skipped.append(str(path))
    if not readable:
        raise LiveaiError(f"no readable MIDI files under {folder} ({len(skipped)} unreadable)")
    model, name = _load(model_name, config)
    result = evaluate_midi_files(readable, model, name=name, progress=sys.stderr.isatty())
    return {**result, "skipped": len(skipped)}
