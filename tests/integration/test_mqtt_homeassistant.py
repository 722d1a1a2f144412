"""Home Assistant MQTT discovery with a real mosquitto: the retained device message, its
controls driving liveai, its state topics following OSC, re-announcement, removal."""

from __future__ import annotations

import json
import subprocess

from conftest import wait_until
from homeassistant_spec import problems
from test_mqtt import pub, retained, start_with_broker, sub

TOPIC = "homeassistant/device/liveai_ha/config"


def watch(broker, topic: str) -> subprocess.Popen:
    """`mosquitto_sub` printing each payload on a line as it comes (the retained one first)."""
    return subprocess.Popen(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", topic, "-W", "10"],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_the_device_is_announced_drives_liveai_and_follows_it(mosquitto, start_server):
    server, peer = start_with_broker(
        start_server, mosquitto, "ha", "mqtt.discovery=true", "mqtt.telemetry_s=0.3", "mqtt.reconnect_max_s=1"
    )
    [line] = sub(mosquitto, TOPIC)
    device = json.loads(line.split(" ", 1)[1])
    assert problems(TOPIC, device) == []
    cmps = device["cmps"]
    assert sorted(c["p"] for c in cmps.values()) == sorted(
        ["select"] + ["number"] * 4 + ["button"] * 4 + ["sensor"] * 3 + ["binary_sensor"]
    )

    # each control, through its own command topic, changes liveai (as OSC sees it) and its state topic
    pub(mosquitto, cmps["mode"]["command_topic"], "thru")
    assert peer.expect("/liveai/out/mode") == ["thru"]
    for key, value in (("tempo", 90.0), ("temperature", 0.5), ("density", 0.25), ("morph", 0.75)):
        pub(mosquitto, cmps[key]["command_topic"], str(value))
        assert peer.expect(f"/liveai/out/{key}") == [value], key
    pub(mosquitto, cmps["panic"]["command_topic"], cmps["panic"]["payload_press"])
    assert peer.expect("/liveai/out/panicked") == [1]
    pub(mosquitto, cmps["play"]["command_topic"], cmps["play"]["payload_press"])
    assert peer.expect("/liveai/out/panicked") == [0]

    # changes made over OSC reach the state topics Home Assistant reads
    peer.send("/liveai/tempo", 123.0)
    peer.send("/liveai/mode", "off")
    follows = {cmps["tempo"]["state_topic"]: "123.0", cmps["mode"]["state_topic"]: "off"}
    wait_until(
        lambda: follows.items() <= retained(mosquitto, "liveai/ha/state/#").items(), 5, "the state topics"
    )
    online = cmps["online"]
    assert sub(mosquitto, online["state_topic"]) == [f"{online['state_topic']} {online['payload_on']}"]
    [telemetry] = sub(mosquitto, cmps["deadline_misses"]["state_topic"])
    figures = json.loads(telemetry.split(" ", 1)[1])
    for key in ("latency_p99_ms", "deadline_misses"):  # what the sensors' templates read
        assert f"value_json.{key}" in cmps[key]["value_template"] and key in figures

    # Home Assistant's birth message, then a broker that lost everything: announced again each time
    watcher = watch(mosquitto, TOPIC)
    assert watcher.stdout is not None
    assert json.loads(watcher.stdout.readline()) == device  # the retained one
    pub(mosquitto, "homeassistant/status", "online")
    assert json.loads(watcher.stdout.readline()) == device
    # at its connection and for that `online`
    wait_until(lambda: peer.status()["mqtt_discovery_sent"] == 2, 5, "the announce counted")
    for _ in range(5):  # anyone may say online: answered at most once every 5 s
        pub(mosquitto, "homeassistant/status", "online")
    wait_until(lambda: peer.status()["mqtt_discovery_throttled"] == 5, 5, "5 throttled")
    assert peer.status()["mqtt_discovery_sent"] == 2
    watcher.kill()
    watcher.communicate()  # closes its pipe
    mosquitto.restart()
    assert sub(mosquitto, TOPIC, wait_s=10) == [line]

    # a clean shutdown keeps the device (unavailable, from the offline status)
    assert server.stop() == 0
    assert sub(mosquitto, "liveai/ha/status") == ["liveai/ha/status offline"]
    assert sub(mosquitto, TOPIC) == [line]


def test_discovery_turned_off_removes_the_device(mosquitto, start_server):
    left = json.dumps({"dev": {"ids": ["liveai_off"]}, "o": {"name": "liveai"}, "cmps": {}})
    subprocess.run(
        ["mosquitto_pub", "-p", str(mosquitto.port), "-t", TOPIC.replace("_ha", "_off"), "-m", left, "-r"],
        check=True,
    )
    _, peer = start_with_broker(start_server, mosquitto, "off")
    wait_until(lambda: not retained(mosquitto, "homeassistant/#"), 5, "the device to be removed")
    assert peer.status()["mqtt_discovery_removed"] == 1
