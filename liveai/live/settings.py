"""Where learning live keeps its files, and which model names it may load.

A model is named, never given as a path: the name is looked up in the model folder,
then among the shipped models, so nothing sent over the network reaches another file.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from ..config import Config
from ..data.midi import is_midi
from ..errors import CommandError
from ..learn.card import is_card
from ..models.shipped import HARMONY, MORPH, NAME, SYNTH, find_checkpoint, missing_model, model_folder

log = logging.getLogger(__name__)
NOT_CONTINUATION = (MORPH, SYNTH, HARMONY)
LEARNED = "learned-{:%Y%m%d-%H%M%S}"  # the name /liveai/learn gives a model, in UTC (no DST fall-back)
MADE_BY_LEARN = re.compile(r"learned-\d{8}-\d{6}")


def data_home() -> Path:
    """liveai's folder in the XDG data directory ($XDG_DATA_HOME or ~/.local/share)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "liveai"


def recorded_folder(config: Config) -> Path:
    folder = config.learn.folder
    return Path(folder).expanduser().absolute() if folder else data_home() / "recorded"


def holds_midi(folder: Path) -> bool:
    """A MIDI file anywhere under `folder` (what `liveai learn` would read): the walk
    stops at the first, so it is quick on the loop even for a large folder."""
    return any(is_midi(Path(name)) for _, _, names in os.walk(folder) for name in names)  # unreadable: none


def models_folder(config: Config) -> Path:
    """Where learned models are (`model.folder`, else the XDG data folder's liveai/models)."""
    return model_folder(config.model.folder).absolute()


def prune_learned(folder: Path, keep: int, keeping: set[str]) -> list[str]:
    """Remove all but the `keep` newest models /liveai/learn made (NAME.pt, .png, .md; 0
    keeps all), never one named in `keeping` (the model playing, those undo goes back
    to), and never a file liveai did not write: only a name /liveai/learn gives, whose
    card `liveai learn` wrote. The names removed."""
    if keep <= 0:
        return []
    made = sorted(
        (
            p.stem
            for p in folder.glob("learned-*.pt")
            if MADE_BY_LEARN.fullmatch(p.stem) and is_card(p.with_suffix(".md"), p.stem)
        ),
        reverse=True,
    )
    removed = []
    for name in made[keep:]:
        if name in keeping:
            continue
        try:
            # the card last: a model without it is never taken for liveai's
            for suffix in (
                ".pt",
                ".png",
                ".md",
            ):
                (folder / f"{name}{suffix}").unlink(missing_ok=True)
        except OSError as exc:
            log.warning("the learned model %s was not removed: %s", name, exc)
            continue
        removed.append(name)
    return removed


def find_model(name: str, config: Config) -> Path:
    """The checkpoint of the continuation model `name`: in the model folder first, then
    shipped. CommandError `bad_value` for a name that is a path, or that no file has."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise CommandError(
            "bad_value", f"a model is named (letters, digits, _ -), not a path: {str(name)[:80]!r}"
        )
    if name in NOT_CONTINUATION:
        raise CommandError("bad_value", f"{name!r} is not a continuation model")
    why = missing_model(name, config.model.folder)  # the line `liveai serve` refuses a name with
    if why is not None:
        raise CommandError("bad_value", why)
    return find_checkpoint(name, config.model.folder)
