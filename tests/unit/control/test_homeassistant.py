"""Home Assistant's device discovery message generated from the command table: valid by
HA's rules, the components the issue asks for, and each component's command, sent as HA
sends it, accepted by liveai's MQTT command path and shown on its state topic."""

from __future__ import annotations

import json

import pytest
from fakes import make_engine
from homeassistant_spec import problems

from liveai import __version__
from liveai.behaviours.registry import Registry
from liveai.config import Config
from liveai.control.handlers import definitions
from liveai.control.homeassistant import announcement, config_topic
from liveai.control.table import CommandTable
from liveai.core.commands import MQTT
from liveai.transports.mqtt import MqttTransport

PLATFORMS = {
    "mode": "select",
    "temperature": "number",
    "density": "number",
    "tempo": "number",
    "morph": "number",
    "play": "button",
    "stop": "button",
    "panic": "button",
    "learn": "button",
    "latency_p99_ms": "sensor",
    "deadline_misses": "sensor",
    "audio_underruns": "sensor",
    "online": "binary_sensor",
}


@pytest.fixture
def mqtt() -> MqttTransport:
    config = Config()
    config.mqtt.instance = "hall"
    engine, _, _ = make_engine(config)
    table = CommandTable(engine, definitions(Registry().commands()))
    return MqttTransport(config.mqtt, table, engine.stats, engine.status, lambda: dict(engine.state))


def device(mqtt: MqttTransport) -> dict:
    return announcement(mqtt.table.carried_by(MQTT), "hall", "9.9")


def test_the_message_keeps_home_assistants_rules_and_has_every_component(mqtt):
    message = device(mqtt)
    assert problems(config_topic("homeassistant", "hall"), message) == []
    assert {k: c["p"] for k, c in message["cmps"].items()} == PLATFORMS
    assert json.loads(mqtt.discovery.payload) == announcement(
        mqtt.table.carried_by(MQTT), "hall", __version__
    )
    # ranges and options are the table's
    assert message["cmps"]["tempo"]["min"] == 20.0 and message["cmps"]["tempo"]["max"] == 300.0
    assert "harmonize" in message["cmps"]["mode"]["options"]


def test_no_learn_command_no_learn_button(mqtt):
    commands = [c for c in mqtt.table.carried_by(MQTT) if c.name != "learn"]
    message = announcement(commands, "hall", "9.9")
    assert "learn" not in message["cmps"] and problems(config_topic("ha", "hall"), message) == []


def test_the_checker_sees_a_broken_message(mqtt):
    message = device(mqtt)
    del message["cmps"]["tempo"]["command_topic"]
    message["cmps"]["mode"]["options"] = []
    message["cmps"]["panic"]["comand_topic"] = "x"
    message["cmps"]["online"]["p"] = "lamp"
    del message["o"]
    found = problems("homeassistant/device/liveai hall/config", message)
    assert len(found) == 6, found


def test_each_control_sent_as_home_assistant_does_changes_the_state_it_shows(mqtt):
    engine, base = mqtt.table.engine, "liveai/hall"
    for key, c in device(mqtt)["cmps"].items():
        if c["p"] not in ("select", "number"):
            continue
        payload = "thru" if c["p"] == "select" else str(float(c["max"]))  # HA sends "300.0"
        mqtt.command(c["command_topic"].removeprefix(f"{base}/cmd/"), payload.encode(), 0.0)
        shown = c["state_topic"].removeprefix(f"{base}/state/")
        assert str(engine.state[shown]) == payload, key
    buttons = {k: c for k, c in device(mqtt)["cmps"].items() if c["p"] == "button"}
    for key in ("play", "panic"):
        mqtt.command(key, buttons[key]["payload_press"].encode(), 0.0)
    assert engine.state["playing"] and engine.state["panicked"]
    mqtt.command("learn", buttons["learn"]["payload_press"].encode(), 0.0)
    errors = [json.loads(payload) for topic, payload in mqtt._outbox if topic == "error"]
    assert [e["code"] for e in errors] == ["unavailable"]  # no model here: the press was understood
