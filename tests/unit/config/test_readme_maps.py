"""The MIDI maps the README and docs/protocol.md give are those config/default.toml sets."""

from __future__ import annotations

from pathlib import Path

from liveai.config import load_config
from liveai.config.types import TRIGGERS

ROOT = Path(__file__).parents[3]
START, END = "<!-- midi-maps:start", "<!-- midi-maps:end -->"


def maps_table() -> str:
    """The README's table, as config/default.toml has it."""
    midi = load_config(ROOT / "config" / "default.toml").midi
    rows = [f"| CC {n} | {target} |" for n, target in sorted(midi.cc_map.items(), key=lambda kv: int(kv[0]))]
    rows += [
        f"| program {n} | {target if target in TRIGGERS else 'mode ' + target} |"
        for n, target in sorted(midi.program_map.items(), key=lambda kv: int(kv[0]))
    ]
    return "\n".join(["| MIDI in | does |", "|---|---|", *rows])


def test_the_readme_gives_the_default_midi_maps():
    text = (ROOT / "README.md").read_text()
    block = text[text.index(START) : text.index(END)]
    assert block.split("\n", 1)[1].strip() == maps_table(), (
        "the README's table, from config/default.toml:\n" + maps_table()
    )


def test_the_protocol_gives_the_default_programs():
    midi = load_config(ROOT / "config" / "default.toml").midi
    programs = ", ".join(
        f"{n} {mode}" for n, mode in sorted(midi.program_map.items(), key=lambda kv: int(kv[0]))
    )
    assert f"(`midi.program_map`: {programs})." in (ROOT / "docs" / "protocol.md").read_text()
