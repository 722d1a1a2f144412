"""The README's protocol reference is generated from the handlers and kept in step."""

from __future__ import annotations

from pathlib import Path

from liveai.protocol_doc import END, START, render

README = Path(__file__).parent.parent.parent / "README.md"


def test_readme_protocol_reference_is_up_to_date():
    text = README.read_text()
    current = text[text.index(START):text.index(END) + len(END)]
    assert current == render(), "run: python -m liveai.protocol_doc --write README.md"


def test_every_osc_address_is_in_the_readme():
    text = README.read_text()
    for address in ("/liveai/note", "/liveai/cc", "/liveai/mode", "/liveai/ping", "/liveai/status",
                    "/liveai/subscribe", "/liveai/out/note", "/liveai/error"):
        assert f"`{address}`" in text
