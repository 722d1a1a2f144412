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
