"""An MQTT command that fails inside liveai is contained: answered on `<base>/error`
with the code `internal`, counted in `internal_errors`, and the next command runs."""

from __future__ import annotations

import json
import logging
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


def test_a_refusal_echoes_at_most_max_echo_chars_on_the_topic_and_in_the_log(caplog):
    config = Config()
    config.mqtt.max_echo_chars = 64
    engine, clock, sink = make_engine(config)
    table = CommandTable(engine, definitions(Registry().commands()))
    mqtt = MqttTransport(config.mqtt, table, engine.stats, engine.status, lambda: dict(engine.state))
    with caplog.at_level(logging.INFO, logger="liveai.transports.mqtt"):
        mqtt.command("y" * 60000, b"", clock.t)  # logged (the next within a second is only counted)
        mqtt.command("mode", b"x" * 60000, clock.t)
    errors = [json.loads(payload) for topic, payload in mqtt._outbox if topic == "error"]
    assert [e["code"] for e in errors] == ["unknown_command", "bad_value"]
    assert all(len(e["command"]) <= 64 and len(e["message"]) <= 64 for e in errors)
    lines = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(lines) == 1 and len(lines[0]) < 64 * 2 + 40, lines
    assert engine.stats.counters["errors"] == 2
