"""Faults contained, against a real server over real OSC: a `liveai serve` whose
behaviours, timers and model replies raise every 3rd call (tests/peers/flaky_server.py)
plays every mode with notes and the sustain pedal going and the transport running. It
keeps answering ping, the beat goes on, every note it starts ends, and
`internal_errors` counts the faults."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

from liveai.bench.harness import OscPeer

LAUNCHER = Path(__file__).parents[1] / "peers" / "flaky_server.py"
EVERY = 3
RISING = [60, 62, 64, 65, 67, 69, 71, 72]
FALLING = [84, 83, 81, 79, 77, 76, 74, 72]


class Heard:
    """The test's one OSC peer, keeping everything the server says in order while the
    test plays (a status or a pong waited for never swallows a note)."""

    def __init__(self, peer: OscPeer) -> None:
        self.peer = peer
        self.messages: list[tuple[str, list[Any]]] = []

    def send(self, address: str, *args: Any) -> None:
        self.peer.send(address, *args)

    def wait(self, seconds: float) -> None:
        self.messages += self.peer.collect(seconds)

    def expect(self, address: str, args: list[Any] | None = None, timeout: float = 3.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            got = self.peer.receive(left)
            if got is None:
                continue
            self.messages.append(got)
            if got[0] == address and (args is None or got[1] == args):
                return got[1]
        raise AssertionError(f"no {address} {args or ''} within {timeout} s")

    def ping(self, token: str) -> None:
        self.send("/liveai/ping", token)
        self.expect("/liveai/pong", [token])

    def status(self) -> dict[str, Any]:
        self.send("/liveai/status")
        args = self.expect("/liveai/status")
        return dict(zip(args[0::2], args[1::2]))

    def mark(self) -> int:
        return len(self.messages)

    def sounding(self) -> set[tuple[int, int]]:
        """(pitch, channel) whose last word was a note-on: begun and not ended."""
        on: set[tuple[int, int]] = set()
        for address, args in self.messages:
            if address == "/liveai/out/note":
                pitch, velocity, channel = args[:3]
                (on.add if velocity > 0 else on.discard)((pitch, channel))
        return on

    def count(self, address: str, since: int) -> int:
        return sum(1 for a, _ in self.messages[since:] if a == address)


def key(heard: Heard, pitch: int, down_s: float, up_s: float) -> None:
    heard.send("/liveai/note", pitch, 90)
    heard.wait(down_s)
    heard.send("/liveai/note", pitch, 0)
    heard.wait(up_s)


def play_with_pedal(heard: Heard, bars: int = 3) -> None:
    """Per bar: a chord held by the pedal, the pedal lifted, then a line without it."""
    for bar in range(bars):
        heard.send("/liveai/cc", 64, 127)
        for pitch in (60, 64, 67):
            key(heard, pitch, 0.06, 0.03)
        heard.wait(0.1)
        heard.send("/liveai/cc", 64, 0)  # the keys the pedal held end here
        for pitch in (62, 65, 69, 72):
            key(heard, pitch, 0.08, 0.04)
        heard.ping(f"bar {bar}")


def test_every_mode_plays_on_through_faults_and_every_note_ends(start_server, tmp_path):
    server, peer = start_server(
        "clock.source=internal",
        "clock.bpm=240",
        "duet.phrase_gap_ms=300",
        "autopilot.horizon_s=0.5",
        "budget.harmonize_ms=250",
        f'morph.folder="{tmp_path}"',
        model="gru",
        command=(sys.executable, str(LAUNCHER), str(EVERY)),
    )
    heard = Heard(peer)
    for slot, phrase in (("a", RISING), ("b", FALLING)):  # morph's phrases, played in harmonize
        for pitch in phrase:
            key(heard, pitch, 0.15, 0.05)
        heard.send("/liveai/morph/capture", slot)
    heard.expect("/liveai/out/morph_ready", ["ab"], timeout=10)
    heard.send("/liveai/play")
    errors = heard.status()["internal_errors"]
    assert errors > 0, "the notes and replies of the captures raised"
    for mode in ("thru", "harmonize", "duet", "autopilot", "morph"):
        heard.send("/liveai/mode", mode)
        heard.expect("/liveai/out/mode", [mode])
        since = heard.mark()
        started = time.monotonic()
        play_with_pedal(heard)
        heard.send("/liveai/morph", 0.5)
        heard.wait(1.0)  # the duet answers, the autopilot and the loop play on
        beats = heard.count("/liveai/out/beat", since)
        expected = (time.monotonic() - started) * 4  # 240 BPM
        assert beats >= expected * 0.7, f"{mode}: {beats} beats in {expected:.0f} beats' time"
        assert heard.count("/liveai/out/note", since) > 0, f"{mode} played nothing"
        if mode in ("thru", "harmonize"):  # they only answer the keys: all up, all ended
            assert heard.sounding() == set(), f"{mode}: notes left sounding with every key and the pedal up"
        now = heard.status()["internal_errors"]
        assert now > errors, f"{mode}: no fault counted"
        errors = now
        heard.send("/liveai/mode", "off")  # the mode's own notes end; nothing else may be left
        heard.expect("/liveai/out/mode", ["off"])
        heard.wait(0.3)
        assert heard.sounding() == set(), f"{mode}: notes that never ended"
        heard.ping(mode)
    heard.send("/liveai/stop")  # no beat, no key: nothing calls a behaviour any more
    heard.wait(0.5)
    status = heard.status()
    assert status["sounding_notes"] == 0
    assert server.stop() == 0
    injected = re.search(r"injected (\d+) faults", server.log())
    assert injected, server.log()[-2000:]
    assert status["internal_errors"] == int(injected.group(1)), "each fault counted once, none lost"
