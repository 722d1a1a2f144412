"""Other OSC implementations as clients: liblo's oscsend/oscdump (C) and Pure Data."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Callable

from conftest import LineReader, need

from liveai.bench.harness import free_port

PATCH = Path(__file__).parent.parent.parent / "patches" / "liveai.pd"


def oscsend(port: int, address: str, types: str = "", *args: str) -> None:
    subprocess.run([need("oscsend"), "127.0.0.1", str(port), address, types, *args], check=True)


def test_liblo_oscsend_and_oscdump(start_server):
    need("oscdump")
    dump_port = free_port()
    with subprocess.Popen(["oscdump", "-L", str(dump_port)], stdout=subprocess.PIPE, text=True) as dump:
        _, peer = start_server(targets=(f"127.0.0.1:{dump_port}",))
        port = peer.server[1]
        oscsend(port, "/liveai/note", "ff", "60", "100")  # floats
        oscsend(port, "/liveai/note", "ii", "60", "0")  # ints, from another socket
        oscsend(port, "/liveai/ping", "s", "hello")
        oscsend(port, "/liveai/subscribe", "i", str(dump_port))  # already a target: no duplicates
        oscsend(port, "/liveai/status")
        lines: list[str] = []
        assert dump.stdout is not None
        printed = LineReader(dump.stdout)
        while not lines or "/liveai/status" not in lines[-1]:
            line = printed.get(timeout=5, what="oscdump to print").split(" ", 1)[1].strip()  # without the timetag
            if line != '/liveai/pong s "ready"':  # the fixture's startup pings
                lines.append(line)
        dump.terminate()
    assert lines[:5] == [
        "/liveai/out/note iii 64 100 1", "/liveai/out/note iii 67 100 1",
        "/liveai/out/note iii 64 0 1", "/liveai/out/note iii 67 0 1",
        '/liveai/pong s "hello"',
    ]
    assert len(lines) == 6 and lines[5].startswith("/liveai/status s")
    status = peer.status()
    assert status["events_in"] == 2 and status["sounding_notes"] == 0 and status["errors"] == 0


def run_patch(sends: list[str], done: Callable[[list[str]], bool]) -> list[str]:
    """The shipped patch in a headless Pd, sent `sends` at start; what it prints to
    stderr until `done` says it has heard enough."""
    args = ["pd", "-nogui", "-nosound", "-nomidi", "-stderr", "-open", str(PATCH)]
    for message in sends:
        args += ["-send", message]
    with subprocess.Popen(args, stderr=subprocess.PIPE, text=True) as pd:
        assert pd.stderr is not None
        lines = LineReader(pd.stderr)
        heard: list[str] = []
        try:
            while not done(heard):
                heard.append(lines.get(timeout=10, what="Pd to print liveai's answers"))
        finally:
            pd.terminate()
    return heard


def test_pure_data_patch_plays_with_floats(start_server):
    """The shipped patch, unchanged: Pd sends floats and hears liveai. It is told other
    ports than the defaults (its `liveai-ports` receiver), so a liveai running on this
    machine does not get in the way."""
    need("pd")
    hears = free_port()
    _, peer = start_server(targets=(f"127.0.0.1:{hears}",))
    sends = [f"liveai-ports {peer.server[1]} {hears}"]
    sends += [f"liveai-send {m}" for m in ("note 60 100", "ping 42", "tempo 150", "note 60 0", "mode thru", "note 50 70")]
    heard = run_patch(sends, lambda heard: "liveai: out note 50 70 1" in heard)
    printed = [line for line in heard if line.startswith("liveai:")]
    assert printed == [
        "liveai: out note 64 100 1", "liveai: out note 67 100 1",
        "liveai: pong 42",
        "liveai: out tempo 150",
        "liveai: out note 64 0 1", "liveai: out note 67 0 1",
        "liveai: out mode thru",
        "liveai: out note 50 70 1",
    ]
    got = [(a, args) for a, args in peer.collect(0.3) if a.startswith("/liveai/out/note")]
    assert ("/liveai/out/note", [50, 70, 1]) in got  # the python target heard the same


def test_pure_data_patch_captures_and_turns_the_morph_knob(start_server):
    """The patch's capture button and morph slider, driven through their receive names as
    a click would: the phrase played last goes into slot a, the knob reaches liveai."""
    need("pd")
    hears = free_port()
    _, peer = start_server("clock.bpm=240", targets=(f"127.0.0.1:{hears}",), model="gru")
    for pitches, slot in (([84, 83, 81, 79, 77, 76, 74, 72], "b"), ([60, 62, 64, 65, 67, 69, 71, 72], None)):
        for pitch in pitches:
            peer.send("/liveai/note", pitch, 90)
            time.sleep(0.18)
            peer.send("/liveai/note", pitch, 0)
            time.sleep(0.07)
        if slot:
            peer.send("/liveai/morph/capture", slot)
    sends = [f"liveai-ports {peer.server[1]} {hears}", "liveai-capture-a bang", "liveai-morph-knob 0.75",
             "liveai-send mode morph"]
    heard = run_patch(sends, lambda heard: {"liveai: out morph_ready ab", "liveai: out mode morph"} <= set(heard))
    assert "liveai: out morph 0.75" in heard
    assert not [line for line in heard if line.startswith("liveai: error")], heard
