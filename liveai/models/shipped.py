"""The checkpoints shipped with liveai, wherever liveai is installed.

The repository's `models/` folder is the package `liveai.shipped` (see pyproject.toml):
a checkout and an editable install read it in place, a wheel carries it as package
data. This is the one place that knows.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PACKAGE = "liveai.shipped"
MORPH = "vae"  # the shipped morph model
SYNTH = "synth"  # the shipped neural synth
HARMONY = "harmony"  # the shipped harmony model; every other checkpoint there continues music


def shipped_dir() -> Path:
    return Path(str(resources.files(PACKAGE)))


def shipped_checkpoints() -> list[Path]:
    """The shipped continuation models."""
    return sorted(p for p in shipped_dir().glob("*.pt") if p.stem not in (MORPH, SYNTH, HARMONY))


def find_checkpoint(name: str) -> Path:
    """`gru` -> the shipped gru.pt; anything with a / or ending in .pt is a path."""
    if "/" in name or name.endswith(".pt"):
        return Path(name).expanduser()
    return shipped_dir() / f"{name}.pt"
