"""Other OSC implementations as clients: liblo's oscsend/oscdump (C) and Pure Data."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import need, wait_until

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
        while not lines or "/liveai/status" not in lines[-1]:
            line = dump.stdout.readline().split(" ", 1)[1].strip()  # without the timetag
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


def test_pure_data_patch_plays_with_floats(start_server):
    """The shipped patch, unchanged, on the default ports: Pd sends floats, hears liveai on 9001."""
    need("pd")
    _, peer = start_server(port=9000, targets=("127.0.0.1:9001",))
    sends = ["note 60 100", "ping 42", "tempo 150", "note 60 0", "mode thru", "note 50 70"]
    args = ["pd", "-nogui", "-nosound", "-nomidi", "-stderr", "-open", str(PATCH)]
    for message in sends:
        args += ["-send", f"liveai-send {message}"]
    with subprocess.Popen(args, stderr=subprocess.PIPE, text=True) as pd:
        assert pd.stderr is not None
        heard: list[str] = []
        try:
            wait_until(lambda: heard.append(pd.stderr.readline().strip()) or "liveai: out note 50 70 1" in heard,
                       10, "Pd to print liveai's answers")
        finally:
            pd.terminate()
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
