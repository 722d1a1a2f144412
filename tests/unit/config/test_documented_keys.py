"""Every config key the README and docs/ name (`audio.headroom_ms`, `--set osc.port=...`)
is a key liveai takes: a renamed or removed key cannot stay documented."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

from liveai.config.schema import Config

ROOT = Path(__file__).parents[3]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SECTIONS = typing.get_type_hints(Config)
KEY = re.compile(r"(?<![\w./-])(" + "|".join(SECTIONS) + r")\.(\w+)")
FILES = {"py", "md", "toml", "json", "pt", "mid", "wav"}  # transports/midi.py is a file, not a key


def documented_keys(path: Path) -> set[tuple[str, str]]:
    return {(s, k) for s, k in KEY.findall(path.read_text()) if k not in FILES}


def test_every_documented_config_key_exists():
    unknown = {}
    for path in DOCS:
        names = [
            f"{s}.{k}"
            for s, k in sorted(documented_keys(path))
            if k not in {f.name for f in dataclasses.fields(SECTIONS[s])}
        ]
        if names:
            unknown[str(path.relative_to(ROOT))] = names
    assert not unknown, "documented keys the config does not have"


def test_the_configuration_and_the_modes_are_documented_by_key():
    # the check above must have something to check where the reference now lives
    for name in ("README.md", "docs/configuration.md", "docs/modes.md", "docs/audio.md", "docs/bad-input.md"):
        assert documented_keys(ROOT / name), name
