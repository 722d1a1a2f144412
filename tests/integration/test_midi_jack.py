"""MIDI through a real JACK server (dummy driver): ports, notes, clock, devices that come and go."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import mido
import pytest
from conftest import JackServer, wait_until

from liveai.transports.midi_wire import HUNG_S

DEVICE = Path(__file__).parent.parent / "peers" / "midi_device.py"


class MidiPeer:
    """MIDI ports of the test process: `player` plays into liveai, `listener` hears it."""

    def __init__(self, jack: JackServer, tag: str) -> None:
        self.jack = jack
        self.heard: queue.Queue[mido.Message] = queue.Queue()
        midi = mido.Backend("mido.backends.rtmidi/UNIX_JACK")
        self.player = midi.open_output(f"{tag} player", virtual=True, client_name=tag)
        self.listener = midi.open_input(
            f"{tag} listener", virtual=True, client_name=tag, callback=self.heard.put
        )
        self.tag = tag

    def port(self, text: str) -> str:
        names = [p for p in self.jack.ports() if text in p]
        assert len(names) == 1, f"JACK ports matching {text!r}: {names}"
        return names[0]

    def connect_to_liveai(self) -> None:
        self.jack.connect(self.port(f"{self.tag} player"), self.port("liveai in"))
        self.jack.connect(self.port("liveai out"), self.port(f"{self.tag} listener"))

    def notes(self, duration: float) -> list[tuple[str, int, int]]:
        out = []
        deadline = time.monotonic() + duration
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = self.heard.get(timeout=left)
            except queue.Empty:
                break
            if msg.type in ("note_on", "note_off"):
                velocity = 0 if msg.type == "note_off" else msg.velocity
                out.append((msg.type if velocity else "note_off", msg.note, velocity))
        return out

    def close(self) -> None:
        self.player.close()
        self.listener.close()


@pytest.fixture
def midi_peer(jack: JackServer, request: pytest.FixtureRequest) -> Iterator[MidiPeer]:
    t = MidiPeer(jack, f"t{abs(hash(request.node.name)) % 10000}")
    yield t
    t.close()


def wait_for_midi(peer, key: str = "midi_inputs", text: str = "liveai in", timeout: float = 10) -> None:
    wait_until(lambda: text in str(peer.status().get(key, "")), timeout, f"{key} to show {text!r}")


def test_virtual_ports_notes_in_harmony_out(jack, midi_peer, start_server):
    _, peer = start_server(midi=True, env=jack.env())
    wait_for_midi(peer)
    assert any(p.endswith("liveai in") for p in jack.ports())
    assert any(p.endswith("liveai out") for p in jack.ports())
    midi_peer.connect_to_liveai()
    midi_peer.player.send(mido.Message("note_on", note=60, velocity=100))
    assert sorted(midi_peer.notes(0.5)) == [("note_on", 64, 85), ("note_on", 67, 85)]
    midi_peer.player.send(mido.Message("note_off", note=60))
    assert sorted(midi_peer.notes(0.5)) == [("note_off", 64, 0), ("note_off", 67, 0)]
    # OSC hears the MIDI player's harmony too
    got = [args for address, args in peer.collect(0.2) if address == "/liveai/out/note"]
    assert sorted(map(tuple, got)) == [(64, 0, 1), (64, 85, 1), (67, 0, 1), (67, 85, 1)]


def test_osc_notes_reach_midi_out(jack, midi_peer, start_server):
    _, peer = start_server("server.mode=thru", midi=True, env=jack.env())
    wait_for_midi(peer)
    midi_peer.connect_to_liveai()
    peer.send("/liveai/note", 72, 90, 1)
    assert midi_peer.notes(0.5) == [("note_on", 72, 90)]


def test_midi_clock_in_sets_the_tempo_and_beats(jack, midi_peer, start_server):
    _, peer = start_server(midi=True, env=jack.env())
    wait_for_midi(peer)
    midi_peer.connect_to_liveai()
    bpm = 150.0
    period = 60.0 / (bpm * 24)
    midi_peer.player.send(mido.Message("start"))
    start = time.perf_counter()
    for tick in range(24 * 6):  # six beats
        while time.perf_counter() < start + tick * period:
            time.sleep(0.0005)
        midi_peer.player.send(mido.Message("clock"))
    got = peer.collect(0.2)  # what was sent while the clock ran
    status = peer.status()
    assert status["clock"] == "midi"
    assert abs(status["tempo"] - bpm) < 3, status["tempo"]
    assert status["playing"] == 1
    beats = [args[0] for address, args in got if address == "/liveai/out/beat"]
    assert beats == [0, 1, 2, 3, 4, 5]
    tempos = [args[0] for address, args in got if address == "/liveai/out/tempo"]
    assert tempos and abs(tempos[-1] - bpm) < 3
    midi_peer.player.send(mido.Message("stop"))
    wait_until(lambda: peer.status()["playing"] == 0, 2, "MIDI stop to stop the transport")


class Device:
    """tests/peers/midi_device.py in its own process: a MIDI gadget that can be unplugged."""

    def __init__(self, jack: JackServer, name: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(DEVICE), name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=jack.env(),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.readline() == "ready"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def readline(self, timeout: float = 5.0) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the device printed nothing within {timeout} s") from None

    def hear(self, count: int) -> set[str]:
        """The first `count` distinct lines. A JACK client that misses a cycle on an
        overloaded machine (non-realtime dummy driver) can have an event delivered twice;
        what is under test is which notes arrive, not JACK's scheduling."""
        heard: set[str] = set()
        while len(heard) < count:
            heard.add(self.readline())
        return heard

    def play(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def unplug(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.close()

    def close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


def wait_for_device(jack: JackServer, peer) -> None:
    """liveai opened the gadget's ports, and JACK shows them connected. (A note sent in
    the cycle before JACK switches to the new graph is lost, as from any device.)"""
    wait_for_midi(peer, "midi_inputs", "gadget keys")
    wait_for_midi(peer, "midi_outputs", "gadget sound")
    for port in ("gadget keys", "gadget sound"):
        wait_until(lambda port=port: jack.linked(port), 5, f"JACK to connect {port}")
    time.sleep(0.05)  # a few JACK periods for the new graph to take effect


def test_a_device_that_dies_and_returns_is_survived(jack, start_server):
    _, peer = start_server(
        'midi.inputs=["gadget keys"]',
        'midi.outputs=["gadget sound"]',
        "midi.poll_s=0.2",
        midi=True,
        env=jack.env(),
    )
    gadget = Device(jack, "gadget")
    wait_for_device(jack, peer)
    gadget.play("on 60 100")
    assert gadget.hear(2) == {"got note_on 64 85", "got note_on 67 85"}
    peer.drain()

    gadget.unplug()  # with a key held: liveai must release the harmony it holds
    releases = sorted(tuple(args) for address, args in peer.collect(1.0) if address == "/liveai/out/note")
    assert releases == [(64, 0, 1), (67, 0, 1)]
    assert peer.status()["sounding_notes"] == 0
    wait_until(lambda: "gadget" not in str(peer.status()["midi_inputs"]), 5, "the dead input to be closed")

    gadget = Device(jack, "gadget")  # plugged in again
    wait_for_device(jack, peer)
    gadget.play("on 62 90")
    assert gadget.hear(2) == {"got note_on 65 76", "got note_on 69 76"}
    gadget.play("quit")
    gadget.proc.wait(5)
    gadget.close()


@pytest.mark.parametrize(
    "sig, group",
    [(signal.SIGTERM, False), (signal.SIGTERM, True), (signal.SIGINT, True)],
    ids=["sigterm", "sigterm-to-the-group (systemd)", "sigint-to-the-group (ctrl-c)"],
)
def test_sigterm_sends_note_offs_over_midi(jack, midi_peer, start_server, sig, group):
    """The note-offs of a shutdown go out over MIDI, also when the signal reaches liveai's
    MIDI process as well (it must outlive liveai's last word, not die with the signal)."""
    server, peer = start_server("server.mode=thru", midi=True, env=jack.env())
    wait_for_midi(peer)
    midi_peer.connect_to_liveai()
    for pitch in (60, 64, 67):
        midi_peer.player.send(mido.Message("note_on", note=pitch, velocity=80))
    assert {n for kind, n, v in midi_peer.notes(0.5) if kind == "note_on"} == {60, 64, 67}
    assert server.stop(sig, group=group) == 0
    heard = midi_peer.notes(0.5)
    offs = {n for kind, n, v in heard if kind == "note_off"}  # (see Device.hear)
    assert offs == {60, 64, 67}, heard


def test_clock_out_as_leader(jack, midi_peer, start_server):
    _, peer = start_server("midi.clock_out=true", "clock.bpm=150", midi=True, env=jack.env())
    wait_for_midi(peer)
    midi_peer.connect_to_liveai()
    peer.send("/liveai/play")
    time.sleep(1.2)
    peer.send("/liveai/stop")
    time.sleep(0.2)
    got = []
    while not midi_peer.heard.empty():
        got.append(midi_peer.heard.get())
    kinds = [m.type for m in got]
    assert kinds[0] == "start" and kinds[-1] == "stop"
    ticks = kinds.count("clock")
    # 150 BPM x 24 PPQN = 60 pulses a second, for about 1.2 s
    assert 55 <= ticks <= 80, ticks


def test_without_any_midi_system_it_runs_on_osc_alone(jack, start_server):
    env = {**jack.env(), "JACK_DEFAULT_SERVER": "no-such-jack-server"}
    server, peer = start_server("midi.api=jack", midi=True, env=env)
    peer.send("/liveai/note", 60, 100)
    notes = [args for address, args in peer.collect(0.3) if address == "/liveai/out/note"]
    assert sorted(map(tuple, notes)) == [(64, 85, 1), (67, 85, 1)]
    assert peer.status()["midi_inputs"] == ""
    assert server.stop() == 0
    log = server.log()
    # said once, not every retry
    assert log.count("level=warning logger=liveai.transports.supervisor") == 1, log
    assert "no JACK server is running" in log


def midi_process_of(server) -> int:
    """The pid of liveai's MIDI process (a child of liveai running midi_process); 0: none now."""
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit() or b"midi_process" not in (entry / "cmdline").read_bytes():
                continue
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == server.proc.pid:
                return int(entry.name)
        except OSError:  # it ended meanwhile
            continue
    return 0


def test_a_hung_midi_process_is_restarted_and_midi_comes_back(jack, midi_peer, start_server):
    """A MIDI process stuck in a call (here: stopped) stays alive and says nothing; its
    silent heartbeat makes liveai kill it and start another."""
    server, peer = start_server("server.mode=thru", midi=True, env=jack.env())
    wait_for_midi(peer)
    midi_peer.connect_to_liveai()
    hung = midi_process_of(server)
    assert hung
    time.sleep(HUNG_S + 1.5)  # idle, yet alive: its heartbeat keeps it
    assert peer.status()["midi_hung"] == 0 and midi_process_of(server) == hung
    midi_peer.player.send(mido.Message("note_on", note=60, velocity=80))
    assert set(midi_peer.notes(0.5)) == {("note_on", 60, 80)}  # (see Device.hear)
    os.kill(hung, signal.SIGSTOP)
    try:
        wait_until(
            lambda: peer.status().get("midi_hung") == 1, HUNG_S + 15, "liveai to notice its MIDI process hung"
        )
        wait_until(lambda: midi_process_of(server) not in (0, hung), 10, "another MIDI process")
        wait_for_midi(peer)
    finally:
        try:
            os.kill(hung, signal.SIGCONT)  # (killed by liveai when all is well)
        except ProcessLookupError:
            pass
    wait_until(
        lambda: len([p for p in jack.ports() if p.endswith("liveai in")]) == 1, 5, "the old ports to go"
    )
    midi_peer.connect_to_liveai()
    midi_peer.player.send(mido.Message("note_on", note=62, velocity=80))
    assert set(midi_peer.notes(1.0)) == {("note_on", 62, 80)}
    assert server.stop() == 0


STRAY = """
import os, sys, threading, time
if any("midi_process" in arg for arg in sys.orig_argv):  # liveai's MIDI process only
    print("a library says hello on stdout", flush=True)
    def chatter():
        while True:
            os.write(1, b"and again\\n")
            time.sleep(0.05)
    threading.Thread(target=chatter, daemon=True).start()
"""


def test_what_the_midi_process_prints_cannot_break_its_frames(jack, midi_peer, start_server, tmp_path):
    """Anything in the MIDI process that writes to stdout (a library's print) goes with
    its stderr, not into the frames liveai reads."""
    (tmp_path / "sitecustomize.py").write_text(STRAY)
    server, peer = start_server(
        "server.mode=thru", midi=True, env={**jack.env(), "PYTHONPATH": str(tmp_path)}
    )
    wait_for_midi(peer)
    midi_peer.connect_to_liveai()
    for pitch in (60, 64, 67):
        midi_peer.player.send(mido.Message("note_on", note=pitch, velocity=80))
        time.sleep(0.1)  # between the stray lines
    assert set(midi_peer.notes(0.5)) == {("note_on", 60, 80), ("note_on", 64, 80), ("note_on", 67, 80)}
    assert peer.status()["internal_errors"] == 0
    assert server.stop() == 0
