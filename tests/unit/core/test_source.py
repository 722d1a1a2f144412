"""A source is parsed once, into who played and whether it is one player's own: every
form the transports write, and forms they never should."""

from __future__ import annotations

import pytest

from liveai.events import Source, player_of

FORMS = [
    # text, kind, name, port, player, personal
    ("osc:127.0.0.1:53211", "osc", "127.0.0.1", 53211, "osc:127.0.0.1", True),
    ("osc:::1:9000", "osc", "::1", 9000, "osc:::1", True),  # IPv6: the port is after the last colon
    ("ws:10.0.0.2:4711", "ws", "10.0.0.2", 4711, "ws:10.0.0.2:4711", True),  # each page its own player
    ("midi:liveai in", "midi", "liveai in", None, "midi:liveai in", True),
    ("midi:USB:Port 1", "midi", "USB:Port 1", None, "midi:USB:Port 1", True),  # a colon in a device name
    ("session:7", "session", "7", None, "session:7", True),
    ("session:a:b", "session", "a:b", None, "session:a:b", True),
    ("mqtt", "mqtt", "", None, "mqtt", False),
    ("", "", "", None, "", False),  # liveai itself
    # forms no transport writes: kept whole, their own player, nobody's own
    ("osc:test", "osc", "test", None, "osc:test", True),  # no port: the host is the player
    ("osc:host:port", "osc", "host:port", None, "osc:host:port", True),
    ("osc:", "osc", "", None, "osc:", True),
    ("bogus:x:1", "bogus", "x:1", None, "bogus:x:1", False),
    ("player", "player", "", None, "player", False),
]


@pytest.mark.parametrize(("text", "kind", "name", "port", "player", "personal"), FORMS)
def test_every_source_form_parses_to_its_player(text, kind, name, port, player, personal):
    source = Source.parse(text)
    assert (source.kind, source.name, source.port) == (kind, name, port)
    assert source.player == player_of(text) == player
    assert source.personal is personal
    assert source.text == text


def test_an_osc_host_is_one_player_whatever_its_port():
    assert Source.parse("osc:10.0.0.1:1").player == Source.parse("osc:10.0.0.1:2").player
    assert Source.parse("ws:10.0.0.1:1").player != Source.parse("ws:10.0.0.1:2").player
