"""OSC over loopback from a separate process: the v1 address space of DESIGN §2."""

from __future__ import annotations

import time

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from liveai.bench.harness import OscPeer


def notes(messages: list[tuple[str, list]]) -> list[tuple[int, int, int]]:
    return [tuple(args) for address, args in messages if address == "/liveai/out/note"]


def test_note_in_harmonized_notes_out_ints_or_floats(start_server):
    _, peer = start_server()
    peer.send("/liveai/note", 60, 100)  # ints, as Max sends them
    assert sorted(notes(peer.collect(0.3))) == [(64, 85, 1), (67, 85, 1)]  # C -> E, G at 0.85 of its velocity
    peer.send("/liveai/note", 60.0, 0.0, types="ff")  # floats, as Pd sends them
    assert sorted(notes(peer.collect(0.3))) == [(64, 0, 1), (67, 0, 1)]
    peer.send("/liveai/note", 62.0, 80.0, 3.0, types="fff")  # D on channel 3 -> F, A
    assert sorted(notes(peer.collect(0.3))) == [(65, 68, 3), (69, 68, 3)]


def test_ping_pong_echoes_the_token(start_server):
    _, peer = start_server()
    for token in (7, 2.5, "abc"):
        peer.send("/liveai/ping", token)
        assert peer.expect("/liveai/pong") == [token]
    peer.send("/liveai/ping")
    assert peer.expect("/liveai/pong") == []
    peer.send("/liveai/ping", 1e300, types="d")  # too big for 32 bits: echoed as a double
    assert peer.expect("/liveai/pong") == [1e300]


def test_status_reports_counters_and_latency(start_server):
    _, peer = start_server()
    for pitch in (60, 62, 64):
        peer.send("/liveai/note", pitch, 90)
        peer.send("/liveai/note", pitch, 0)
    peer.send("/liveai/nowhere")
    peer.drain()
    status = peer.status()
    assert status["events_in"] == 6
    assert status["events_out"] == 12  # two voices on, two off, per note
    assert status["unknown_address"] == 1 and status["errors"] == 1
    assert 0 < status["latency_p50_ms"] <= status["latency_p99_ms"]
    assert status["mode"] == "harmonize" and status["sounding_notes"] == 0
    assert status["uptime_s"] > 0 and status["memory_mb"] > 0


def test_subscribe_sends_everything_to_the_subscriber_too(start_server):
    _, peer = start_server()
    with OscPeer(peer.server[1]) as other:
        other.send("/liveai/subscribe")
        other.send("/liveai/note", 60, 100)
        assert sorted(notes(other.collect(0.3))) == [(64, 85, 1), (67, 85, 1)]
        assert sorted(notes(peer.collect(0.3))) == [(64, 85, 1), (67, 85, 1)]
        other.send("/liveai/ping", 1)
        assert other.expect("/liveai/pong") == [1]
        assert peer.expect("/liveai/pong") == [1]
        other.send("/liveai/unsubscribe")
        time.sleep(0.1)
        other.send("/liveai/ping", 2)
        assert other.receive(0.3) is None
        assert peer.expect("/liveai/pong") == [2]


def test_subscribe_to_another_port(start_server):
    _, peer = start_server()
    with OscPeer(peer.server[1]) as listener:
        peer.send("/liveai/subscribe", float(listener.port), types="f")
        peer.send("/liveai/ping", "x")
        assert listener.expect("/liveai/pong") == ["x"]


def test_bad_input_is_answered_with_errors_and_the_server_keeps_playing(start_server):
    _, peer = start_server()
    peer.send("/liveai/nowhere", 1)
    assert peer.expect("/liveai/error")[0] == "unknown_address"
    peer.send("/liveai/note", "sixty", 100)
    assert peer.expect("/liveai/error")[0] == "bad_args"
    peer.send("/liveai/note", 60)
    assert peer.expect("/liveai/error")[0] == "bad_args"
    peer.send("/liveai/note", 200, 100)
    assert peer.expect("/liveai/error")[0] == "bad_value"
    peer.send("/liveai/mode", "jazz")
    assert peer.expect("/liveai/error")[0] == "bad_value"
    peer.send_raw(b"\x00\x01garbage")
    assert peer.expect("/liveai/error")[0] == "malformed"
    peer.send("/liveai/note", 60, 100)
    assert sorted(notes(peer.collect(0.3))) == [(64, 85, 1), (67, 85, 1)]


def test_out_of_range_controls_are_clamped(start_server):
    _, peer = start_server()
    peer.send("/liveai/temperature", 9.0)
    assert peer.expect("/liveai/out/temperature") == [2.0]
    peer.send("/liveai/tempo", 5)
    assert peer.expect("/liveai/out/tempo") == [20.0]
    peer.send("/liveai/morph", 0.5)
    assert peer.expect("/liveai/out/morph") == [0.5]
    peer.send("/liveai/morph", -1.0)  # clamped, and seen: it moved from 0.5
    assert peer.expect("/liveai/out/morph") == [0.0]
    assert peer.status()["errors"] == 0


def test_mode_change_releases_sounding_notes(start_server):
    _, peer = start_server()
    peer.send("/liveai/note", 60, 100)
    peer.send("/liveai/mode", "thru")
    got = peer.collect(0.3)
    assert ("/liveai/out/mode", ["thru"]) in got
    assert sorted(notes(got)) == [(64, 0, 1), (64, 85, 1), (67, 0, 1), (67, 85, 1)]
    peer.send("/liveai/note", 50, 70, 2)
    assert notes(peer.collect(0.3)) == [(50, 70, 2)]  # thru echoes


def test_play_sends_beats_at_the_tempo(start_server):
    _, peer = start_server()
    peer.send("/liveai/tempo", 300)  # 5 beats a second
    assert peer.expect("/liveai/out/tempo") == [300.0]
    peer.send("/liveai/play")
    beats, arrived = [], []
    deadline = time.monotonic() + 10
    while len(beats) < 6 and (left := deadline - time.monotonic()) > 0:
        got = peer.receive(left)
        if got is not None and got[0] == "/liveai/out/beat":
            beats.append(got[1][0])
            arrived.append(time.monotonic())
    assert beats == [0, 1, 2, 3, 4, 5]  # each beat once, in order, from 0
    # 1 s at 300 BPM (2.5 s at the default 120), with room for a beat late under load
    assert 0.6 < arrived[-1] - arrived[0] < 1.6, arrived
    peer.send("/liveai/stop")
    assert ("/liveai/out/playing", [0]) in peer.collect(0.3)


def test_bundle_timetag_is_honoured_without_blocking(start_server):
    _, peer = start_server()
    later = OscBundleBuilder(time.time() + 0.4)
    msg = OscMessageBuilder("/liveai/note")
    msg.add_arg(60)
    msg.add_arg(100)
    later.add_content(msg.build())
    peer.send_raw(later.build().dgram)
    sent = time.monotonic()
    peer.send("/liveai/ping", 1)  # answered first: the bundle does not block the loop
    first = peer.receive(1.0)
    while first == ("/liveai/pong", ["ready"]):  # a late answer to a start-up ping, under load
        first = peer.receive(1.0)
    assert first == ("/liveai/pong", [1]), first
    peer.expect("/liveai/out/note", timeout=2.0)
    assert time.monotonic() - sent > 0.3  # not before its timetag
    now = OscBundleBuilder(IMMEDIATELY)
    ping = OscMessageBuilder("/liveai/ping")
    ping.add_arg("now")
    now.add_content(ping.build())
    peer.send_raw(now.build().dgram)
    assert peer.expect("/liveai/pong") == ["now"]


def test_panic_silences_everything(start_server):
    _, peer = start_server()
    peer.send("/liveai/note", 60, 100)
    peer.send("/liveai/note", 65, 100, 2)
    peer.drain()
    peer.send("/liveai/panic")
    got = peer.collect(0.3)
    assert sorted(n for n in notes(got)) == [(64, 0, 1), (67, 0, 1), (69, 0, 2), (72, 0, 2)]
    assert sum(1 for address, args in got if address == "/liveai/out/cc" and args[0] == 123) == 16
    assert peer.status()["sounding_notes"] == 0


def test_a_key_as_people_type_it_and_a_refusal_in_the_terminal(start_server):
    """`/liveai/key "A minor"`, `Am` and `A minor` (two strings) are taken; a key that is
    none is refused naming the forms, and the refusal is in the server's log at its
    default level (no -v), naming the sender."""
    server, peer = start_server()
    for args, key, scale in (
        (["A minor"], "A", "minor"),
        (["F#m"], "F#", "minor"),
        (["Bb", "dorian"], "Bb", "dorian"),
        (["C:maj"], "C", "major"),
    ):
        peer.send("/liveai/key", *args)
        status = peer.status()
        assert (status["key"], status["errors"]) == (f"{key} {scale}", 0), args
    peer.send("/liveai/key", "H minor")
    code, message = peer.expect("/liveai/error")
    assert code == "bad_value" and '"A minor", "Am", "A:min"' in message and "dorian" in message
    deadline = time.monotonic() + 2
    while "refused from osc:127.0.0.1:" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    line = next(line for line in server.log().splitlines() if "refused from osc:127.0.0.1:" in line)
    assert "level=info" in line and "bad_value /liveai/key: no key 'H minor'" in line
