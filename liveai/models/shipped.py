"""The checkpoints shipped with liveai, wherever liveai is installed.

The repository's `models/` folder is the package `liveai.shipped` (see pyproject.toml):
a checkout and an editable install read it in place, a wheel carries it as package
data. This is the one place that knows.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

from liveai.errors import ConfigError

PACKAGE = "liveai.shipped"
MORPH = "vae"  # the shipped morph model
SYNTH = "synth"  # the shipped neural synth
HARMONY = "harmony"  # the shipped harmony model; every other checkpoint there continues music


def shipped_dir() -> Path:
    return Path(str(resources.files(PACKAGE)))


def shipped_checkpoints() -> list[Path]:
    """The shipped continuation models."""
    return sorted(p for p in shipped_dir().glob("*.pt") if p.stem not in (MORPH, SYNTH, HARMONY))


SHOWN = 10  # learned names listed when a name is not found, at most
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a learned model's name: a file name, never a path


def model_folder(folder: str = "") -> Path:
    """Where learned models live: `model.folder`, else $XDG_DATA_HOME/liveai/models."""
    if folder:
        return Path(folder).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "liveai" / "models"


def learned_path(name: str, folder: str = "") -> Path:
    """The checkpoint a learn named `name` writes: confined to the model folder, and
    never a shipped model's name (ConfigError otherwise)."""
    if not NAME.fullmatch(name):
        raise ConfigError(f"--name {name!r}: letters, digits, - and _ only (at most 64), no path")
    shipped = {p.stem.lower() for p in shipped_dir().glob("*.pt")}
    if name.lower() in shipped:  # GRU.pt beside gru.pt is one file on a case-insensitive disk
        raise ConfigError(f"--name {name!r} is a shipped model's name; choose another")
    return model_folder(folder) / f"{name}.pt"


def find_checkpoint(name: str, folder: str = "") -> Path:
    """`gru` -> the shipped gru.pt; `mine` -> mine.pt in the model folder (`model.folder`)
    when it is there, else the shipped one; anything with a / or ending in .pt is a path."""
    if "/" in name or name.endswith(".pt"):
        return Path(name).expanduser()
    if NAME.fullmatch(name):
        learned = model_folder(folder) / f"{name}.pt"
        if learned.is_file():
            return learned
    return shipped_dir() / f"{name}.pt"


def missing_model(name: str, folder: str = "") -> str | None:
    """None when the model `name` (a shipped or learned name, or a path) is there; else
    the one line that says where it was looked for and which names there are."""
    path = find_checkpoint(name, folder)
    if path.is_file():
        return None
    if "/" in name or name.endswith(".pt"):
        return f"no model at {path}"
    shipped = ", ".join(p.stem for p in shipped_checkpoints())
    learned = model_folder(folder).absolute()
    names = sorted(p.stem for p in learned.glob("*.pt")) if learned.is_dir() else []
    there = f" ({', '.join(names[:SHOWN])}{' ...' if len(names) > SHOWN else ''})" if names else " (none)"
    return f"no model {name!r} in {learned}{there} nor among the shipped in {shipped_dir()} ({shipped})"


def check_model(name: str, folder: str = "", what: str = "--model") -> Path:
    """The checkpoint of `name`, or ConfigError (exit 2) saying `what` names no model."""
    why = missing_model(name, folder)
    if why is not None:
        raise ConfigError(f"{what}: {why}")
    return find_checkpoint(name, folder)
