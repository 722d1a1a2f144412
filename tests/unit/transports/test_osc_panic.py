"""A panic means silence now: timetagged OSC messages still waiting are dropped
(counted), so a note sent ahead cannot sound, nor resume thru, after the panic."""

from __future__ import annotations

import asyncio
import socket
import time

from fakes import make_engine
from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message import OscMessage

from liveai.behaviours.registry import Registry
from liveai.bench.harness import osc_message
from liveai.config import Config
from liveai.control.handlers import definitions
from liveai.control.table import CommandTable
from liveai.events import NoteOn
from liveai.transports.osc import OscTransport


def later(seconds: float, *messages: bytes) -> bytes:
    bundle = OscBundleBuilder(time.time() + seconds)
    for message in messages:
        bundle.add_content(OscMessage(message))
    return bundle.build().dgram


def test_a_panic_drops_the_timetagged_notes_still_waiting():
    config = Config()
    config.server.mode = "thru"
    config.osc.port, config.osc.targets = 0, []
    engine, _, sink = make_engine(config)
    engine.start()
    osc = OscTransport(
        config.osc, CommandTable(engine, definitions(Registry().commands())), engine.stats, engine.status
    )
    engine.on_panic.append(osc.panic)  # as the server does

    async def play() -> None:
        async with osc:
            server = ("127.0.0.1", osc.port)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as player:
                player.sendto(later(0.2, osc_message("/liveai/note", 60, 100)), server)
                player.sendto(later(0.3, osc_message("/liveai/note", 62, 100)), server)
                await asyncio.sleep(0.05)
                player.sendto(osc_message("/liveai/panic"), server)
                await asyncio.sleep(0.5)  # past both timetags
                assert engine.state["panicked"], "a note sent ahead resumed thru after the panic"
                player.sendto(osc_message("/liveai/note", 64, 100), server)  # the player's next note
                await asyncio.sleep(0.05)

    asyncio.run(play())
    assert [e.pitch for e in sink.events() if isinstance(e, NoteOn) and e.velocity > 0] == [64]
    assert engine.stats.counters["osc_timetagged_dropped"] == 2 and not engine.state["panicked"]
