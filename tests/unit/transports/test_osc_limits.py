"""The OSC endpoint's limits, on its real code with a recording socket: floods inside
one datagram cost one refusal, error replies are rate-limited per host, echoed strings
are bounded, and subscribers that reload give way."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from dataclasses import replace
from typing import Any

from fakes import make_engine
from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message import OscMessage
from pythonosc.osc_packet import OscPacket

from liveai.behaviours.registry import Registry
from liveai.bench.harness import osc_message
from liveai.config import Config
from liveai.control.handlers import definitions
from liveai.control.table import CommandTable
from liveai.transports.osc import OscTransport, bind


class Socket:
    def __init__(self) -> None:
        self.sent: list[tuple[tuple[str, int], str, list[Any]]] = []

    def sendto(self, data: bytes, target: tuple[str, int]) -> None:
        message = OscPacket(data).messages[0].message
        self.sent.append((target, message.address, list(message.params)))

    def errors(self) -> list[list[Any]]:
        return [args for _, address, args in self.sent if address == "/liveai/error"]


def endpoint(**osc: Any) -> tuple[OscTransport, Socket, Any]:
    config = Config()
    for key, value in osc.items():
        setattr(config.osc, key, value)
    engine, clock, sink = make_engine(config)
    osc_transport = OscTransport(
        config.osc, CommandTable(engine, definitions(Registry().commands())), engine.stats, engine.status
    )
    sock = Socket()
    osc_transport._transport = sock  # type: ignore[assignment]
    osc_transport._targets = [("127.0.0.1", 9001)]
    return osc_transport, sock, engine


def bundle(*elements: bytes) -> bytes:
    return b"#bundle\x00" + struct.pack(">Q", 1) + b"".join(struct.pack(">i", len(e)) + e for e in elements)


def test_a_bundle_of_thousands_of_messages_is_one_refusal():
    osc, sock, engine = endpoint()
    osc.receive(bundle(*[osc_message("/x")] * 8186), ("10.0.0.5", 4000), 1.0)
    assert len(sock.errors()) == 1 and sock.errors()[0][0] == "too_large"
    assert engine.stats.counters["too_large"] == 1 and engine.stats.counters["unknown_address"] == 0


def test_a_bundle_too_far_ahead_or_one_too_many_is_refused_under_its_code_not_counted_as_dropped():
    """`osc_timetagged_dropped` counts only what a panic drops; a refusal counts under its code."""
    osc, sock, engine = endpoint(max_bundle_delay_s=10.0, max_pending_bundles=1)

    def ahead(seconds: float) -> bytes:
        later = OscBundleBuilder(time.time() + seconds)
        later.add_content(OscMessage(osc_message("/liveai/note", 60, 100)))
        return later.build().dgram

    async def send() -> None:
        for seconds in (60.0, 5.0, 5.0):  # too far; waits; one too many
            osc.receive(ahead(seconds), ("10.0.0.5", 4000), time.monotonic())
        osc.input.cancel()

    asyncio.run(send())
    assert [args[0] for args in sock.errors()] == ["bad_value", "busy"]
    counters = engine.stats.counters
    assert counters["bad_value"] == 1 and counters["busy"] == 1 and counters["errors"] == 2
    assert counters["osc_timetagged_dropped"] == 0


def test_error_replies_are_rate_limited_per_host_and_counted():
    osc, sock, engine = endpoint(max_errors_per_s=5)
    for i in range(50):
        osc.receive(osc_message("/nope"), ("10.0.0.5", 4000 + i), 1.0 + i * 0.001)  # a new port each time
    osc.receive(osc_message("/nope"), ("10.0.0.6", 4000), 1.1)  # another host still hears its error
    assert len(sock.errors()) == 6
    assert engine.stats.counters["unknown_address"] == 51 and engine.stats.counters["errors_unanswered"] == 45
    osc.receive(osc_message("/nope"), ("10.0.0.5", 4000), 2.5)  # a second later, answered again
    assert len(sock.errors()) == 7


def test_echoed_strings_are_bounded():
    osc, sock, engine = endpoint(max_echo_chars=64)
    osc.receive(osc_message("/liveai/" + "x" * 60000), ("10.0.0.5", 4000), 1.0)
    osc.receive(osc_message("/liveai/ping", "y" * 60000), ("10.0.0.5", 4000), 1.0)
    osc.receive(osc_message("/liveai/ping", "ok"), ("10.0.0.5", 4000), 1.0)
    assert [len(args[1]) <= 64 for args in sock.errors()] == [True, True]
    assert [args for _, address, args in sock.sent if address == "/liveai/pong"] == [["ok"]]


def test_a_patch_that_reloads_replaces_its_own_old_subscriptions():
    osc, sock, engine = endpoint(max_subscribers_per_host=2)
    for port in (5001, 5002, 5003):
        osc.receive(osc_message("/liveai/subscribe"), ("10.0.0.7", port), 1.0)
    assert list(osc.subscribers) == [("10.0.0.7", 5002), ("10.0.0.7", 5003)]
    assert engine.stats.counters["subscribers_replaced"] == 1


def test_a_full_table_takes_the_place_of_an_idle_host_or_tells_the_requester():
    osc, sock, engine = endpoint(max_subscribers=2, subscriber_idle_s=60)
    import time

    now = time.monotonic()
    osc.receive(osc_message("/liveai/subscribe"), ("10.0.0.1", 5000), now)
    osc.receive(osc_message("/liveai/subscribe"), ("10.0.0.2", 5000), now)
    osc.receive(osc_message("/liveai/subscribe"), ("10.0.0.3", 5000), now)  # nobody idle: refused
    refusal = [(target, args[0]) for target, address, args in sock.sent if address == "/liveai/error"]
    assert (("10.0.0.3", 5000), "busy") in refusal  # told directly, though it hears nothing else
    assert engine.stats.counters["subscribe_refused"] == 1
    osc.subscribers._heard["10.0.0.1"] = now - 120  # 10.0.0.1 has been silent for two minutes
    osc.receive(osc_message("/liveai/subscribe"), ("10.0.0.3", 5000), now)
    assert list(osc.subscribers) == [("10.0.0.2", 5000), ("10.0.0.3", 5000)]


def test_a_refusal_is_logged_at_info_naming_the_sender_and_the_reason_once_a_second(caplog):
    osc, sock, engine = endpoint()
    caplog.set_level(logging.INFO, logger="liveai.transports.osc")
    for i in range(10):  # ten refusals within a second: one line
        osc.receive(osc_message("/liveai/key", "H"), ("10.0.0.5", 4000), 1.0 + i * 0.01)
    osc.receive(osc_message("/liveai/mode", "jazz"), ("10.0.0.6", 4001), 2.5)  # a second later: the next line
    lines = [r for r in caplog.records if "refused" in r.getMessage()]
    assert [r.levelno for r in lines] == [logging.INFO, logging.INFO]
    first, second = (r.getMessage() for r in lines)
    assert "osc:10.0.0.5:4000" in first and "bad_value" in first and "no key 'H'" in first
    assert (
        "osc:10.0.0.6:4001" in second
        and "must be one of off" in second
        and "(9 refusals since the last report)" in second
    )
    assert len(sock.errors()) == 11  # every one is still answered


def test_what_came_while_the_models_loaded_is_dropped_and_counted():
    """The port is bound before the models load; a note sent meanwhile would play
    seconds late, so it is dropped (as when the port was not yet bound), and counted."""
    config = Config()
    config.osc.port, config.osc.targets = 0, []
    engine, _, sink = make_engine(config)
    sock = bind(config.osc)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as player:
        for _ in range(3):
            player.sendto(osc_message("/liveai/note", 60, 100), sock.getsockname())
        time.sleep(0.05)
        osc = OscTransport(
            config.osc,
            CommandTable(engine, definitions(Registry().commands())),
            engine.stats,
            engine.status,
            sock,
        )

        async def open_and_listen() -> None:
            async with osc:
                player.sendto(osc_message("/liveai/note", 62, 100), sock.getsockname())
                await asyncio.sleep(0.1)

        asyncio.run(open_and_listen())
    counters = engine.stats.counters
    assert counters["stale_at_start"] == 3 and counters["osc_timetagged_dropped"] == 0
    # only the note after: D
    assert [e.pitch for e in sink.events() if type(e).__name__ == "NoteOn"] == [
        65,
        69,
    ]


def test_a_command_that_fails_inside_liveai_is_answered_counted_and_the_next_runs():
    osc, sock, engine = endpoint()

    def broken(*args: Any) -> None:
        raise RuntimeError("a bug in a handler")

    osc.table._osc["/liveai/tempo"] = replace(osc.table._osc["/liveai/tempo"], handler=broken)
    osc.receive(osc_message("/liveai/tempo", 90.0), ("10.0.0.5", 4000), 1.0)
    osc.receive(osc_message("/liveai/ping", 7), ("10.0.0.5", 4000), 1.0)
    assert sock.errors()[0][0] == "internal"
    assert [args for _, address, args in sock.sent if address == "/liveai/pong"] == [[7]]
    assert count_of_faults(engine) == {"internal_errors": 1, "errors": 0}  # a bug, one counter: not a refusal


def test_a_command_an_address_pattern_reaches_that_fails_is_answered_too():
    """The table contains the fault so the other matched commands run; the client is
    still told `internal`, and a refusal among them is answered first (theirs to fix)."""
    osc, sock, engine = endpoint()

    def broken(*args: Any) -> None:
        raise RuntimeError("a bug in a handler")

    osc.table._osc["/liveai/density"] = replace(osc.table._osc["/liveai/density"], handler=broken)
    osc.receive(osc_message("/liveai/{density,temperature}", 0.25), ("10.0.0.5", 4000), 1.0)
    assert [args[0] for args in sock.errors()] == ["internal"]
    assert "/liveai/density" in sock.errors()[0][1] and engine.state["temperature"] == 0.25
    assert count_of_faults(engine) == {"internal_errors": 1, "errors": 0}
    osc.receive(osc_message("/liveai/{density,mode}", 0.5), ("10.0.0.5", 4000), 1.1)  # mode refuses 0.5
    assert sock.errors()[1][0] == "bad_args" and "(and 1 more of the 2 matched)" in sock.errors()[1][1]
    assert count_of_faults(engine) == {"internal_errors": 2, "errors": 1}


def count_of_faults(engine: Any) -> dict[str, int]:
    counters = engine.stats.counters
    assert "internal" not in counters, "an internal fault has one counter, internal_errors"
    return {"internal_errors": counters["internal_errors"], "errors": counters["errors"]}
