"""Playing with the shipped model live, over real OSC, MQTT and JACK MIDI."""

from __future__ import annotations

import time

import mido
from conftest import need, wait_until
from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message import OscMessage

from liveai.bench.harness import OscPeer, osc_message
from liveai.music.scales import Scale

C_MAJOR = Scale("C", "major")


def note_events(messages):
    return [tuple(args) for address, args in messages if address == "/liveai/out/note"]


def play_phrase(peer, pitches, on_s=0.12, off_s=0.03, channel=1, *session):
    for pitch in pitches:
        peer.send("/liveai/note", pitch, 90, channel, *session)
        time.sleep(on_s)
        peer.send("/liveai/note", pitch, 0, channel, *session)
        time.sleep(off_s)


def test_model_harmonize_in_key_and_register(start_server):
    # what the model chooses, not how fast: a generous budget so a busy CI machine does not
    # hand the first note to the rule (latency is the benchmark's job)
    _, peer = start_server("harmonize.voices=3", "budget.harmonize_ms=250", model="gru")
    peer.send("/liveai/note", 60, 100)
    voices = [n for n in note_events(peer.collect(0.5)) if n[1] > 0]
    assert len(voices) == 3 and all(p in C_MAJOR and p != 60 for p, _, _ in voices)
    peer.send("/liveai/note", 60, 0)
    offs = [n for n in note_events(peer.collect(0.3)) if n[1] == 0]
    assert sorted(p for p, _, _ in offs) == sorted(p for p, _, _ in voices)
    peer.send("/liveai/key", "A", "minor")
    peer.send("/liveai/register", 57, 76)
    peer.send("/liveai/note", 57, 90)
    voices = [n for n in note_events(peer.collect(0.5)) if n[1] > 0]
    assert voices and all(p in Scale("A", "minor") and 57 <= p <= 76 for p, _, _ in voices)
    peer.send("/liveai/note", 57, 0)
    status = peer.status()
    assert status["model_gru_steps"] > 0 and status["sounding_notes"] == 0


def test_duet_answers_the_phrase_and_yields_to_the_player(start_server):
    _, peer = start_server("server.mode=duet", "duet.phrase_gap_ms=300", "duet.min_response_s=3", model="gru")
    play_phrase(peer, [60, 62, 64, 65, 67, 69, 71, 72])
    answer = [n for n in note_events(peer.collect(1.5)) if n[1] > 0]
    assert answer, "the model answers once the player pauses"
    peer.send("/liveai/note", 48, 100)  # the player comes back in the middle of the answer
    time.sleep(0.1)
    assert peer.status()["sounding_notes"] == 0  # every answer note that sounded got its note-off
    later = [n for n in note_events(peer.collect(1.0)) if n[1] > 0]
    assert later == []  # and nothing more of it is played
    peer.send("/liveai/note", 48, 0)


def test_ping_is_answered_while_a_long_answer_is_generated(start_server):
    _, peer = start_server("server.mode=duet", "duet.max_response_s=60", model="gru")
    play_phrase(peer, [60, 64, 67], on_s=0.05, off_s=0.01)
    peer.send("/liveai/tempo", 300)
    peer.send("/liveai/continue", 64)  # 12.8 s of music
    with OscPeer(peer.server[1]) as pinger:
        pinger.send("/liveai/subscribe")
        for i in range(50):
            pinger.send("/liveai/ping", i)
            assert pinger.expect("/liveai/pong", timeout=0.5) == [i]  # the loop is never blocked
            time.sleep(0.01)
    notes = [n for n in note_events(peer.collect(0.5)) if n[1] > 0]
    assert notes, "the answer plays meanwhile"
    peer.send("/liveai/panic")


def test_autopilot_steered_over_mqtt_silenced_by_panic_until_play(mosquitto, start_server):
    need("mosquitto_pub")
    import subprocess

    def cmd(name: str, payload: str) -> None:
        subprocess.run(
            ["mosquitto_pub", "-p", str(mosquitto.port), "-t", f"liveai/auto/cmd/{name}", "-m", payload],
            check=True,
        )

    _, peer = start_server(
        f'mqtt.url="{mosquitto.url}"',
        "mqtt.instance=auto",
        "server.mode=autopilot",
        "autopilot.horizon_s=0.5",
        "model.seed=7",  # the model's draws repeat, so the counts do: 10 dense, 1 sparse (unseeded 7-24, 0-5)
        model="gru",
    )
    wait_until(lambda: peer.status()["mqtt"] == "connected", 10, "liveai to subscribe")  # else cmd/ is lost
    cmd("key", "D dorian")
    cmd("register", "60 74")
    cmd("density", "1.0")
    time.sleep(1.0)  # what was generated before the steering has played
    peer.drain()
    dense = [n for n in note_events(peer.collect(3.0)) if n[1] > 0]
    assert dense and all(60 <= p <= 74 and p in Scale("D", "dorian") for p, _, _ in dense)
    cmd("density", "0.0")
    time.sleep(4.0)
    peer.drain()
    sparse = [n for n in note_events(peer.collect(3.0)) if n[1] > 0]
    assert len(dense) > 1.5 * len(sparse), (len(dense), len(sparse))
    cmd("density", "1.0")
    cmd("panic", "")
    time.sleep(0.3)
    assert peer.status()["panicked"] == 1
    assert [n for n in note_events(peer.collect(2.0)) if n[1] > 0] == [], "a panic stops the autopilot"
    wait_until(
        lambda: retained_state(mosquitto.port, "auto", "panicked") == "1", 5, "retained state/panicked 1"
    )
    cmd("play", "")
    time.sleep(0.3)
    assert [n for n in note_events(peer.collect(2.0)) if n[1] > 0], "play brings it back"
    wait_until(
        lambda: retained_state(mosquitto.port, "auto", "panicked") == "0", 5, "retained state/panicked 0"
    )
    peer.send("/liveai/mode", "off")
    time.sleep(0.2)
    assert peer.status()["sounding_notes"] == 0


def retained_state(port: int, instance: str, name: str) -> str | None:
    import subprocess

    done = subprocess.run(
        [
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-t",
            f"liveai/{instance}/state/{name}",
            "-C",
            "1",
            "-W",
            "2",
        ],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or None


def test_panic_silences_the_autopilot_until_play(start_server):
    """Over real OSC: the autopilot plays, a panic stops it (not one note-on for 3 s, the
    state echoed), and /liveai/play brings it back."""
    _, peer = start_server("server.mode=autopilot", "autopilot.horizon_s=0.5", model="gru")
    assert [n for n in note_events(peer.collect(2.0)) if n[1] > 0], "the autopilot plays"
    peer.send("/liveai/panic")
    after, end = [], time.monotonic() + 3.5
    while (left := end - time.monotonic()) > 0:
        if (got := peer.receive(left)) is not None:
            after.append((time.monotonic(), got))
    echoed = next(i for i, (_, m) in enumerate(after) if m == ("/liveai/out/panicked", [1]))
    assert end - after[echoed][0] >= 3.0, "the silence is watched for 3 s after the panic's echo"
    # before it: sent before the panic
    silent = [n for n in note_events(m for _, m in after[echoed:]) if n[1] > 0]
    assert silent == [], f"{len(silent)} note-ons after the panic"
    status = peer.status()
    assert status["panicked"] == 1 and status["sounding_notes"] == 0
    peer.send("/liveai/play")
    assert peer.expect("/liveai/out/panicked") == [0]
    assert [n for n in note_events(peer.collect(3.0)) if n[1] > 0], "play brings the autopilot back"


def test_a_panic_drops_the_notes_sent_ahead_in_timetagged_bundles(start_server):
    """A note timetagged for later that comes due after the panic neither sounds nor
    resumes thru: a panic means silence now. The player's next note does resume it."""
    _, peer = start_server("server.mode=thru")
    dropped = peer.status()["osc_timetagged_dropped"]  # before this test's bundle
    ahead = OscBundleBuilder(time.time() + 0.5)
    ahead.add_content(OscMessage(osc_message("/liveai/note", 62, 100)))
    peer.send_raw(ahead.build().dgram)
    peer.send("/liveai/panic")
    assert peer.expect("/liveai/out/panicked") == [1]
    assert [n for n in note_events(peer.collect(1.0)) if n[1] > 0] == [], "the note sent ahead sounded"
    status = peer.status()
    assert status["panicked"] == 1 and status["osc_timetagged_dropped"] == dropped + 1
    peer.send("/liveai/note", 64, 100)
    assert peer.expect("/liveai/out/note") == [64, 100, 1]
    peer.send("/liveai/note", 64, 0)


def test_each_client_has_its_own_session_and_mode(start_server):
    """Two players on one host name their sessions (by host alone they would be one player)."""
    _, peer = start_server("server.sessions=per_source", "duet.phrase_gap_ms=300", model="gru")
    with OscPeer(peer.server[1]) as duet_player:
        duet_player.send("/liveai/mode", "duet", "duo")  # only the session "duo"
        peer.send("/liveai/note", 60, 100, 2, "keys")  # the session "keys" still harmonizes
        voices = [n for n in note_events(peer.collect(0.4)) if n[1] > 0 and n[2] == 2]
        assert len(voices) == 2
        peer.send("/liveai/note", 60, 0, 2, "keys")
        play_phrase(duet_player, [67, 65, 64, 62], 0.12, 0.03, 3, "duo")
        answer = [n for n in note_events(peer.collect(1.5)) if n[1] > 0 and n[2] == 3]
        assert answer, "the duet session's phrase is answered on its channel"
        assert peer.status()["sessions"] == 2
        duet_player.send("/liveai/panic")


def test_duet_over_jack_midi_and_mode_changes_leave_nothing_hanging(jack, start_server):
    from test_midi_jack import MidiPeer, wait_for_midi

    _, peer = start_server("duet.phrase_gap_ms=300", midi=True, model="gru", env=jack.env())
    wait_for_midi(peer)
    player = MidiPeer(jack, "duetmidi")
    try:
        player.connect_to_liveai()
        player.player.send(mido.Message("program_change", program=3))  # duet, sent once
        wait_until(lambda: peer.status()["mode"] == "duet", 5, "program change to duet")
        for pitch in (60, 62, 64, 67, 64, 62, 60):
            player.player.send(mido.Message("note_on", note=pitch, velocity=90))
            time.sleep(0.1)
            player.player.send(mido.Message("note_off", note=pitch))
            time.sleep(0.02)
        heard = player.notes(1.5)
        assert [n for n in heard if n[0] == "note_on"], "the answer comes back over MIDI"
        player.player.send(mido.Message("program_change", program=4))  # autopilot
        time.sleep(1.0)
        player.player.send(mido.Message("program_change", program=0))  # off
        time.sleep(0.3)
        heard += player.notes(0.5)
        sounding: set[int] = set()
        for kind, pitch, _ in heard:
            (sounding.add if kind == "note_on" else sounding.discard)(pitch)
        assert sounding == set()
        assert peer.status()["sounding_notes"] == 0
    finally:
        player.close()
