"""MQTT with a real mosquitto broker and its command-line clients as the other side."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest
from conftest import Mosquitto, need, wait_until


def sub(broker: Mosquitto, topic: str, count: int = 1, wait_s: float = 5) -> list[str]:
    """`mosquitto_sub -v`: up to `count` "topic payload" lines (retained ones first)."""
    done = subprocess.run(
        [
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            str(broker.port),
            "-t",
            topic,
            "-v",
            "-C",
            str(count),
            "-W",
            str(wait_s),
        ],
        capture_output=True,
        text=True,
    )
    return done.stdout.splitlines()


def pub(broker: Mosquitto, topic: str, payload: str) -> None:
    subprocess.run(
        ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", topic, "-m", payload, "-q", "1"],
        check=True,
    )


def retained(broker: Mosquitto, topic: str) -> dict[str, str]:
    lines = sub(broker, topic, count=100, wait_s=1)
    return dict(line.split(" ", 1) for line in lines)


def start_with_broker(start_server, broker: Mosquitto, instance: str, *overrides: str, **options):
    server, peer = start_server(
        f'mqtt.url="{broker.url}"', f"mqtt.instance={instance}", *overrides, **options
    )
    assert sub(broker, f"liveai/{instance}/status") == [f"liveai/{instance}/status online"]
    return server, peer


def test_commands_state_and_telemetry(mosquitto, start_server):
    _, peer = start_with_broker(start_server, mosquitto, "stage", "mqtt.telemetry_s=0.5")
    base = "liveai/stage"
    pub(mosquitto, f"{base}/cmd/mode", "thru")
    assert peer.expect("/liveai/out/mode") == ["thru"]  # the same command as over OSC
    pub(mosquitto, f"{base}/cmd/temperature", "0.7")
    assert peer.expect("/liveai/out/temperature") == [pytest.approx(0.7)]  # OSC floats are 32-bit
    pub(mosquitto, f"{base}/cmd/tempo", "96")
    assert peer.expect("/liveai/out/tempo") == [96.0]
    wait_until(
        lambda: retained(mosquitto, f"{base}/state/#").get(f"{base}/state/tempo") == "96.0",
        5,
        "retained tempo",
    )
    state = retained(mosquitto, f"{base}/state/#")
    assert state[f"{base}/state/mode"] == "thru"
    assert state[f"{base}/state/temperature"] == "0.7"

    peer.send("/liveai/note", 60, 100)  # some traffic for the telemetry
    peer.send("/liveai/note", 60, 0)
    line = sub(mosquitto, f"{base}/telemetry", wait_s=5)[0]
    telemetry = json.loads(line.split(" ", 1)[1])
    for key in (
        "events_in_per_s",
        "events_out_per_s",
        "latency_p50_ms",
        "latency_p99_ms",
        "deadline_misses",
        "uptime_s",
        "memory_mb",
        "mqtt_outbox_dropped",
        "malformed",
        "internal_errors",
    ):
        assert key in telemetry, key
    assert telemetry["mqtt"] == "connected"


def test_bad_commands_are_refused_on_the_error_topic(mosquitto, start_server):
    _, peer = start_with_broker(start_server, mosquitto, "bad")
    errors = subprocess.Popen(
        [
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            str(mosquitto.port),
            "-t",
            "liveai/bad/error",
            "-C",
            "3",
            "-W",
            "5",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)  # mosquitto_sub has no "subscribed" signal
    pub(mosquitto, "liveai/bad/cmd/temperature", "hot")
    pub(mosquitto, "liveai/bad/cmd/mode", "jazz")
    pub(mosquitto, "liveai/bad/cmd/selfdestruct", "now")
    out, _ = errors.communicate(timeout=10)
    codes = [json.loads(line)["code"] for line in out.splitlines()]
    assert codes == ["bad_args", "bad_value", "unknown_command"]
    assert peer.status()["errors"] == 3
    peer.send("/liveai/ping", 1)
    assert peer.expect("/liveai/pong") == [1]


def test_last_will_says_offline_when_the_server_is_killed(mosquitto, start_server):
    server, _ = start_with_broker(start_server, mosquitto, "will")
    watcher = subprocess.Popen(
        [
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            str(mosquitto.port),
            "-t",
            "liveai/will/status",
            "-C",
            "2",
            "-W",
            "10",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert watcher.stdout is not None
    first = watcher.stdout.readline().strip()  # subscribed: the retained online (kill only then, or
    server.stop(signal.SIGKILL)  # the will may replace it before the watcher is there)
    out, _ = watcher.communicate(timeout=15)
    assert [first, *out.splitlines()] == ["online", "offline"]  # the retained online, then the will


def test_sigterm_says_offline_cleanly(mosquitto, start_server):
    server, _ = start_with_broker(start_server, mosquitto, "bye")
    assert server.stop() == 0
    assert sub(mosquitto, "liveai/bye/status") == ["liveai/bye/status offline"]


def test_broker_restart_is_survived(mosquitto, start_server):
    _, peer = start_with_broker(start_server, mosquitto, "restart", "mqtt.reconnect_max_s=1")
    pub(mosquitto, "liveai/restart/cmd/tempo", "100")
    assert peer.expect("/liveai/out/tempo") == [100.0]
    mosquitto.stop()
    peer.send("/liveai/note", 60, 100)  # the music goes on without the broker
    notes = [args for address, args in peer.collect(0.3) if address == "/liveai/out/note"]
    assert sorted(map(tuple, notes)) == [(64, 85, 1), (67, 85, 1)]
    wait_until(lambda: peer.status()["mqtt"] == "reconnecting", 5, "liveai to notice the broker is gone")
    mosquitto.start()
    assert sub(mosquitto, "liveai/restart/status", wait_s=10) == ["liveai/restart/status online"]
    # the broker kept nothing (persistence off): liveai published its state again
    wait_until(
        lambda: retained(mosquitto, "liveai/restart/state/#").get("liveai/restart/state/tempo") == "100.0",
        5,
        "state republished",
    )
    pub(mosquitto, "liveai/restart/cmd/tempo", "110")
    assert peer.expect("/liveai/out/tempo") == [110.0]


def test_a_retained_command_is_not_replayed(mosquitto, start_server):
    """A retained cmd/panic left on the broker would panic at every reconnect."""
    subprocess.run(
        [
            "mosquitto_pub",
            "-h",
            "127.0.0.1",
            "-p",
            str(mosquitto.port),
            "-t",
            "liveai/ret/cmd/tempo",
            "-m",
            "150",
            "-r",
            "-q",
            "1",
        ],
        check=True,
    )
    _, peer = start_with_broker(start_server, mosquitto, "ret")
    pub(mosquitto, "liveai/ret/cmd/tempo", "90")  # a fresh command still acts
    assert peer.expect("/liveai/out/tempo") == [90.0]
    status = peer.status()
    assert status["tempo"] == 90.0 and status["mqtt_retained_ignored"] == 1


def test_a_broker_that_is_down_at_start_is_waited_for(tmp_path, start_server):
    need("mosquitto")
    broker = Mosquitto(tmp_path)  # its port is chosen, nothing listens there yet
    server, peer = start_server(f'mqtt.url="{broker.url}"', "mqtt.instance=late", "mqtt.reconnect_max_s=1")
    peer.send("/liveai/note", 60, 100)  # liveai plays without it
    assert [args for address, args in peer.collect(0.3) if address == "/liveai/out/note"]
    assert peer.status()["mqtt"] == "reconnecting"
    broker.start()
    try:
        assert sub(broker, "liveai/late/status", wait_s=10) == ["liveai/late/status online"]
        wait_until(lambda: peer.status()["mqtt"] == "connected", 5, "liveai to connect")
    finally:
        broker.stop()


def test_bad_credentials_are_said_once_and_the_music_goes_on(tmp_path, start_server):
    need("mosquitto")
    need("mosquitto_passwd")
    broker = Mosquitto(tmp_path, users={"stage": "right"})
    broker.start()
    try:
        server, peer = start_server(
            f'mqtt.url="{broker.url}"',
            "mqtt.instance=auth",
            "mqtt.username=stage",
            "mqtt.password=wrong",
            "mqtt.reconnect_max_s=0.5",
        )
        time.sleep(2.5)  # several attempts
        assert peer.status()["mqtt"] == "reconnecting"
        peer.send("/liveai/ping", "alive")
        assert peer.expect("/liveai/pong") == ["alive"]
        assert server.stop() == 0
        warnings = [line for line in server.log().splitlines() if "level=warning" in line and "mqtt" in line]
        assert len(warnings) == 1 and "authoriz" in warnings[0].lower(), warnings
        server, peer = start_server(
            f'mqtt.url="{broker.url}"', "mqtt.instance=auth", "mqtt.username=stage", "mqtt.password=right"
        )
        wait_until(lambda: peer.status()["mqtt"] == "connected", 10, "liveai to log in")
    finally:
        broker.stop()


def make_certificates(folder) -> tuple:
    """A CA and a server certificate for 127.0.0.1 (openssl), as a small installation would."""
    ca_key, ca, key, csr, cert = (
        folder / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem")
    )
    run = lambda *args: subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)  # noqa: E731
    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=liveai test CA",
        "-keyout",
        ca_key,
        "-out",
        ca,
    )
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", csr)
    ext = folder / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    run(
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        ca,
        "-CAkey",
        ca_key,
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        ext,
        "-out",
        cert,
    )
    return ca, cert, key


def test_tls_to_a_broker_with_its_own_ca(tmp_path, start_server):
    need("mosquitto")
    need("openssl")
    ca, cert, key = make_certificates(tmp_path)
    broker = Mosquitto(tmp_path, tls=(ca, cert, key))
    broker.start()
    try:
        _, peer = start_server(f'mqtt.url="{broker.url}"', "mqtt.instance=tls", f'mqtt.ca_file="{ca}"')
        wait_until(lambda: peer.status()["mqtt"] == "connected", 10, "liveai to connect over TLS")
        done = subprocess.run(
            [
                "mosquitto_pub",
                "-h",
                "127.0.0.1",
                "-p",
                str(broker.port),
                "--cafile",
                str(ca),
                "-t",
                "liveai/tls/cmd/tempo",
                "-m",
                "77",
                "-q",
                "1",
            ],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        assert peer.expect("/liveai/out/tempo") == [77.0]
        # without the CA, liveai refuses the broker's certificate and keeps playing
        _, other = start_server(f'mqtt.url="{broker.url}"', "mqtt.instance=tls2")
        time.sleep(1.5)
        assert other.status()["mqtt"] == "reconnecting"
    finally:
        broker.stop()


def test_a_frozen_broker_does_not_hold_up_a_shutdown(mosquitto, start_server):
    """A broker that stops answering (its host frozen) gets a bounded goodbye: the offline
    status waits 1 s at most, then liveai exits."""
    server, _ = start_with_broker(start_server, mosquitto, "frozen")
    mosquitto.proc.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        assert server.stop(timeout=10) == 0
        assert time.monotonic() - started < 4  # 1 s for "offline"; the disconnect does not wait
    finally:
        mosquitto.proc.send_signal(signal.SIGCONT)
