"""Where learning live keeps its files, and which model names it may load.

The `[learn]` settings are read through `learn_settings`, which falls back to the
defaults where a configuration has no such section. A model is named, never given as
a path: the name is looked up in the model folder, then among the shipped models, so
nothing sent over the network reaches another file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CommandError
from ..models.shipped import HARMONY, MORPH, SYNTH, shipped_checkpoints, shipped_dir

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")  # no slash, no leading dot
NOT_CONTINUATION = (MORPH, SYNTH, HARMONY)


@dataclass(frozen=True)
class LearnSettings:
    record: bool = False  # keep what each player plays as MIDI files
    folder: str = ""  # where ("": the XDG data folder's liveai/recorded)
    threads: int = 1  # the learning child's threads


def learn_settings(config: Any) -> LearnSettings:
    section = getattr(config, "learn", None)
    default = LearnSettings()
    return LearnSettings(
        record=bool(getattr(section, "record", default.record)),
        folder=str(getattr(section, "folder", default.folder) or ""),
        threads=max(1, int(getattr(section, "threads", default.threads) or 1)),
    )


def data_home() -> Path:
    """liveai's folder in the XDG data directory ($XDG_DATA_HOME or ~/.local/share)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "liveai"


def recorded_folder(config: Any) -> Path:
    folder = learn_settings(config).folder
    return Path(folder).expanduser().absolute() if folder else data_home() / "recorded"


def model_folder(config: Any) -> Path:
    """Where learned models are (`model.folder`, else the XDG data folder's liveai/models)."""
    folder = str(getattr(getattr(config, "model", None), "folder", "") or "")
    return Path(folder).expanduser().absolute() if folder else data_home() / "models"


def find_model(name: str, config: Any) -> Path:
    """The checkpoint of the continuation model `name`: in the model folder first, then
    shipped. CommandError `bad_value` for a name that is a path, or that no file has."""
    if not isinstance(name, str) or not NAME.fullmatch(name) or name.endswith(".pt"):
        raise CommandError("bad_value", f"a model is named (letters, digits, . _ -), not a path: {str(name)[:80]!r}")
    if name in NOT_CONTINUATION:
        raise CommandError("bad_value", f"{name!r} is not a continuation model")
    folder = model_folder(config)
    for place in (folder, shipped_dir()):
        path = place / f"{name}.pt"
        if path.is_file():
            return path
    shipped = ", ".join(p.stem for p in shipped_checkpoints())
    raise CommandError("bad_value", f"no model {name!r} in {folder} nor among the shipped ({shipped})")
