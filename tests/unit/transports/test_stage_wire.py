"""What a stage page may send: one command per frame, with OSC's limits."""

from __future__ import annotations

import json

import pytest

from liveai.config import OscConfig
from liveai.errors import CommandError
from liveai.transports.stage_wire import parse_command

LIMITS = OscConfig(max_arguments=4, max_string_bytes=64)


def code_of(frame: str) -> str:
    with pytest.raises(CommandError) as refused:
        parse_command(frame, LIMITS)
    return refused.value.code


def test_a_command_is_an_address_and_its_arguments():
    assert parse_command('{"address": "/liveai/mode", "args": ["duet"]}', LIMITS) == (
        "/liveai/mode",
        ["duet"],
    )
    assert parse_command('{"address": "/liveai/panic"}', LIMITS) == ("/liveai/panic", [])
    assert parse_command('{"address": "/liveai/note", "args": [60, 100, true]}', LIMITS) == (
        "/liveai/note",
        [60, 100, 1],
    )


@pytest.mark.parametrize(
    "frame",
    [
        "{x",
        "[]",
        '"/liveai/panic"',
        '{"args": []}',
        '{"address": 3}',
        '{"address": "/liveai/mode", "args": "duet"}',
        '{"address": "/liveai/mode", "args": [null]}',
        '{"address": "/liveai/mode", "args": [[1]]}',
        '{"address": "/liveai/tempo", "args": [NaN]}',
        '{"address": "/liveai/tempo", "args": [Infinity]}',
        "[" * 100000,
    ],
)
def test_what_is_not_a_command_is_malformed(frame):
    assert code_of(frame) in ("malformed", "too_large")
    if len(frame) < 1000:
        assert code_of(frame) == "malformed"


def test_osc_limits_apply():
    assert code_of(json.dumps({"address": "/liveai/" + "x" * 60})) == "too_large"
    assert code_of(json.dumps({"address": "/liveai/note", "args": [1] * 5})) == "too_large"
    # bytes, not characters
    assert code_of(json.dumps({"address": "/liveai/key", "args": ["é" * 40]})) == "too_large"
    assert code_of(" " * (64 * 5 + 1025)) == "too_large"
