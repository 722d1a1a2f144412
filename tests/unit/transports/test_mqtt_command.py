"""An MQTT command that fails inside liveai is contained: answered on `<base>/error`
with the code `internal`, counted in `internal_errors`, and the next command runs."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from fakes import make_engine

from liveai.behaviours.registry import Registry
from liveai.config import Config
from liveai.control.handlers import definitions
from liveai.control.table import CommandTable
from liveai.transports.mqtt import MqttTransport


def test_a_command_that_fails_inside_liveai_is_answered_counted_and_the_next_runs():
    config = Config()
    engine, clock, sink = make_engine(config)
    table = CommandTable(engine, definitions(Registry().commands()))

    def broken(*args: Any) -> None:
        raise RuntimeError("a bug in a handler")

    table.commands["/liveai/tempo"] = replace(table.commands["/liveai/tempo"], handler=broken)
    mqtt = MqttTransport(config.mqtt, table, engine.stats, engine.status, lambda: dict(engine.state))
    mqtt.command("tempo", b"90", clock.t)
    mqtt.command("density", b"0.25", clock.t)
    topic, payload = mqtt._outbox.popleft()
    assert topic == "error" and json.loads(payload)["code"] == "internal"
    assert engine.state["density"] == 0.25
    counters = engine.stats.counters
    assert counters["internal_errors"] == 1 and counters["errors"] == 0 and "internal" not in counters

