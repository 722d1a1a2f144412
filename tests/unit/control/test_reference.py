"""The protocol reference (docs/protocol.md) is generated from the command table and
kept in step; the README links to it."""

from __future__ import annotations

from pathlib import Path

from liveai.control.reference import END, START, render

ROOT = Path(__file__).parents[3]
PROTOCOL = ROOT / "docs" / "protocol.md"


def test_protocol_reference_is_up_to_date():
    text = PROTOCOL.read_text()
    current = text[text.index(START) : text.index(END) + len(END)]
    assert current == render(), "run: python -m liveai.control.reference --write docs/protocol.md"


def test_every_osc_address_is_in_the_reference():
    text = PROTOCOL.read_text()
    for address in (
        "/liveai/note",
        "/liveai/cc",
        "/liveai/mode",
        "/liveai/ping",
        "/liveai/status",
        "/liveai/subscribe",
        "/liveai/out/note",
        "/liveai/error",
    ):
        assert f"`{address}`" in text


def test_every_state_liveai_echoes_has_its_outgoing_address_listed():
    """Each public state value goes out as /liveai/out/<name> when it changes (OSC echoes
    every StateChanged): each of them is in the reference's outgoing table."""
    from liveai.behaviours.registry import Registry
    from liveai.config import Config
    from liveai.control.reference import OUTGOING
    from liveai.core.engine import Engine

    listed = {address for address, _, _ in OUTGOING}
    state = Engine(Config(), now=lambda: 0.0, behaviours=Registry()).state
    missing = sorted(f"/liveai/out/{name}" for name in state if f"/liveai/out/{name}" not in listed)
    assert missing == []
