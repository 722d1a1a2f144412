"""What the OSCQuery websocket sends in one frame, whose session its player is, and mDNS
failing without harm."""

from __future__ import annotations

import asyncio
import logging

from fakes import make_engine
from pythonosc.osc_packet import OscPacket

from liveai.config import Config
from liveai.core.stats import Stats
from liveai.transports.mdns import Advertiser
from liveai.transports.osc import encode
from liveai.transports.oscquery import pack


def decoded(frame: bytes) -> list[tuple[str, list[object]]]:
    return [(m.message.address, list(m.message.params)) for m in OscPacket(frame).messages]


def test_a_tick_is_one_frame_per_message_with_each_listened_values_latest():
    assert pack([("/liveai/tempo", encode("/liveai/tempo", 120.0))]) == [encode("/liveai/tempo", 120.0)]
    frames = pack(
        [
            ("/liveai/tempo", encode("/liveai/tempo", 100.0)),
            (None, encode("/liveai/pong", "a")),
            ("/liveai/mode", encode("/liveai/mode", "thru")),
            ("/liveai/tempo", encode("/liveai/tempo", 140.0)),
            (None, encode("/liveai/pong", "b")),
        ]
    )
    assert not any(frame.startswith(b"#bundle") for frame in frames)  # a tool reads messages
    # a knob swept within one tick arrives as its last value; every answer arrives
    assert [decoded(frame) for frame in frames] == [
        [("/liveai/pong", ["a"])],
        [("/liveai/mode", ["thru"])],
        [("/liveai/tempo", [140.0])],
        [("/liveai/pong", ["b"])],
    ]


async def test_advertising_that_fails_is_counted_and_logged_and_raises_nothing(caplog):
    stats = Stats(0.0, 10.0)
    advertiser = Advertiser(stats)
    caplog.set_level(logging.WARNING, logger="liveai.transports.mdns")
    advertiser.start("no-such-host.invalid", 9080, 9000)  # cannot be resolved
    assert advertiser._task is not None
    await asyncio.wait_for(advertiser._task, 10)
    assert stats.counters["mdns_failed"] == 1
    assert "cannot advertise" in caplog.text and advertiser.report() == {"mdns": "off"}
    await advertiser.close()


def test_a_websocket_is_a_player_of_its_own_with_per_source_sessions():
    config = Config()
    config.server.sessions = "per_source"
    engine, _, _ = make_engine(config)
    udp, ws = "osc:10.0.0.5:4000", "ws:10.0.0.5:51000"
    engine.set_mode("harmonize", udp)
    engine.set_mode("thru", ws)  # its own session, as a UDP sender's would be
    assert (engine.sessions.get(udp).mode, engine.sessions.get(ws).mode) == ("harmonize", "thru")
