"""Other OSC implementations as clients: liblo's oscsend/oscdump (C) and Pure Data; the
Max patch's messages as Max sends them."""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
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
            # without the timetag
            line = printed.get(timeout=5, what="oscdump to print").split(" ", 1)[1].strip()
            # the fixture's pings while the server starts, and its last one
            if line not in ('/liveai/pong s "ready"', '/liveai/pong s "synced"'):
                lines.append(line)
        dump.terminate()
    assert lines[:5] == [
        "/liveai/out/note iii 64 85 1",
        "/liveai/out/note iii 67 85 1",
        "/liveai/out/note iii 64 0 1",
        "/liveai/out/note iii 67 0 1",
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
    sends += [
        f"liveai-send {m}"
        for m in ("note 60 100", "ping 42", "tempo 150", "note 60 0", "mode thru", "note 50 70")
    ]
    heard = run_patch(sends, lambda heard: "liveai: out note 50 70 1" in heard)
    printed = [line for line in heard if line.startswith("liveai:")]
    assert printed == [
        "liveai: out note 64 85 1",
        "liveai: out note 67 85 1",
        "liveai: pong 42",
        "liveai: out tempo 150",
        "liveai: out note 64 0 1",
        "liveai: out note 67 0 1",
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
    sends = [
        f"liveai-ports {peer.server[1]} {hears}",
        "liveai-capture-a bang",
        "liveai-morph-knob 0.75",
        "liveai-send mode morph",
    ]
    heard = run_patch(
        sends, lambda heard: {"liveai: out morph_ready ab", "liveai: out mode morph"} <= set(heard)
    )
    assert "liveai: out morph 0.75" in heard
    assert not [line for line in heard if line.startswith("liveai: error")], heard


def pd_objects() -> tuple[list[str], set[tuple[int, int, int, int]]]:
    """The patch's objects (in index order, as Pd numbers them) and its connections."""
    entries = [e.strip() for e in PATCH.read_text().split(";\n") if e.strip()][1:]
    objects = [e for e in entries if not e.startswith("#X connect")]
    wires = {tuple(int(n) for n in e.split()[2:6]) for e in entries if e.startswith("#X connect")}
    return objects, wires  # type: ignore[return-value]


def command_of(selector: str) -> str:
    """The command a [route] selector sends: capture -> morph/capture, learn_stop -> learn/stop."""
    return f"morph/{selector}" if selector in ("capture", "load") else selector.replace("_", "/")


def test_the_pure_data_patch_routes_every_command():
    """Every OSC command liveai takes has a selector in the patch's [route], wired through
    [list] to [oscformat] of its address; the messages the patch offers are routed."""
    from liveai.behaviours.registry import Registry
    from liveai.control.handlers import definitions
    from liveai.control.table import describe

    objects, wires = pd_objects()
    (route,) = [i for i, o in enumerate(objects) if o.startswith("#X obj 20 290 route ")]
    selectors = objects[route].split()[5:]
    addresses = {describe(d).address.removeprefix("/liveai/") for d in definitions(Registry().commands())}
    sent = {command_of(s) for s in selectors}
    assert addresses <= sent, f"not routed: {addresses - sent}"
    for outlet, selector in enumerate(selectors):
        (lst,) = [b for a, o, b, _ in wires if (a, o) == (route, outlet)]
        (fmt,) = [b for a, o, b, _ in wires if a == lst]
        address = "liveai " + command_of(selector).replace("/", " ")
        assert objects[lst].endswith(" list") and objects[fmt].endswith(f"oscformat {address}"), selector
    assert [b for a, o, b, _ in wires if (a, o) == (route, len(selectors))], (
        "a word that is no command is said"
    )
    offered = [
        o.split()[4] for i, o in enumerate(objects) if o.startswith("#X msg") and (i, 0, route, 0) in wires
    ]
    assert set(offered) <= set(selectors) and {"key", "register", "density"} <= set(offered), offered


def test_the_pure_data_patch_steers_and_prints_errors_readably(start_server):
    """key, register and density reach liveai through the shipped patch; a refusal is
    printed as words, without Pd's backslash escapes."""
    need("pd")
    hears = free_port()
    _, peer = start_server(targets=(f"127.0.0.1:{hears}",))
    sends = [f"liveai-ports {peer.server[1]} {hears}"]
    sends += [
        f"liveai-send {m}"
        for m in ("key A minor", "register 48 84", "density 0.25", "key H", "mode jazz", "ping 9")
    ]
    heard = run_patch(sends, lambda heard: "liveai: pong 9" in heard)
    printed = [line for line in heard if line.startswith("liveai:")]
    assert printed[:5] == [
        "liveai: out key A",
        "liveai: out scale minor",
        "liveai: out low 48",
        "liveai: out high 84",
        "liveai: out density 0.25",
    ], heard
    errors = [line for line in printed if line.startswith("liveai: error")]
    assert errors == [
        'liveai: error bad_value /liveai/key: no key \'H\': give "A minor" "Am" "A:min" "F#m" "Bb major" "C" '
        'or two strings "A" "minor" scales: major minor harmonic_minor dorian mixolydian lydian phrygian '
        "pentatonic_major pentatonic_minor blues chromatic",
        "liveai: error bad_value /liveai/mode: name must be one of off thru harmonize duet autopilot morph",
    ], heard
    assert not [line for line in printed if "\\" in line], printed


MAX_PATCH = PATCH.with_suffix(".maxpat")


def max_message(text: str) -> tuple[str, list[int | float | str]]:
    """A Max message box as [udpsend] sends it: ints as i, numbers with a point as f, a
    quoted "A minor" as one symbol."""
    address, *atoms = shlex.split(text)
    args: list[int | float | str] = []
    for atom in atoms:
        try:
            args.append(int(atom))
        except ValueError:
            try:
                args.append(float(atom))
            except ValueError:
                args.append(atom)
    return address, args


def test_the_max_patch_messages_are_understood(start_server):
    """Max does not run on Linux: the patch's message boxes and its morph knob
    ([slider] -> [scale 0 127 0. 1.] -> [prepend /liveai/morph]) are sent as Max sends
    them, in the order a player would click them, and none is refused."""
    patch = json.loads(MAX_PATCH.read_text())
    boxes = {box["box"]["id"]: box["box"] for box in patch["patcher"]["boxes"]}
    into_udpsend = {
        line["patchline"]["source"][0]
        for line in patch["patcher"]["lines"]
        if line["patchline"]["destination"][0] == "udpsend"
    }
    wires = {
        (line["patchline"]["source"][0], line["patchline"]["destination"][0])
        for line in patch["patcher"]["lines"]
    }
    messages = {
        box["text"]: max_message(box["text"])
        for box in boxes.values()  # in the patch's order
        if box["id"] in into_udpsend and box["maxclass"] == "message" and box["text"].startswith("/")
    }
    assert {
        "/liveai/morph/capture a",
        "/liveai/morph/capture b",
        "/liveai/mode morph",
        "/liveai/note 60 100",
    } <= set(messages)
    assert {
        "/liveai/mode duet",
        "/liveai/continue 8",
        "/liveai/mode autopilot",
        "/liveai/density 0.7",
        '/liveai/key "A minor"',
        "/liveai/register 48 84",
    } <= set(messages)
    assert ("/liveai/key", ["A minor"]) in messages.values()  # one symbol, as Max sends a quoted one
    # The ports are set by message boxes into [udpsend] and [udpreceive], at their defaults.
    into = {
        (boxes[s]["text"], d)
        for s, d in wires
        if boxes[s]["maxclass"] == "message" and d in ("udpsend", "udpreceive")
    }
    assert {("port 9000", "udpsend"), ("host 127.0.0.1", "udpsend"), ("port 9001", "udpreceive")} <= into
    assert (
        boxes["udpsend"]["text"] == "udpsend 127.0.0.1 9000"
        and boxes["udpreceive"]["text"] == "udpreceive 9001"
    )
    assert {("morph_knob", "morph_scale"), ("morph_scale", "morph_prepend")} <= wires
    assert boxes["morph_knob"]["maxclass"] == "slider" and boxes["morph_scale"]["text"] == "scale 0 127 0. 1."
    assert "morph_prepend" in into_udpsend
    assert boxes["morph_prepend"]["text"] == "prepend /liveai/morph"
    _, peer = start_server("clock.bpm=240", model="gru")

    def click(text: str) -> None:
        peer.send(messages[text][0], *messages[text][1])

    for phrase, slot in (([60, 62, 64, 65, 67, 69, 71, 72], "a"), ([84, 83, 81, 79, 77, 76, 74, 72], "b")):
        for pitch in phrase:
            peer.send("/liveai/note", pitch, 90)
            time.sleep(0.18)
            peer.send("/liveai/note", pitch, 0)
            time.sleep(0.07)
        click(f"/liveai/morph/capture {slot}")
    click("/liveai/mode morph")
    click("/liveai/play")
    peer.send("/liveai/morph", 96 / 127)  # the slider at 96, scaled to a float
    heard = peer.collect(1.5)
    for text in messages:  # then every other box once
        if "capture" not in text and text != "/liveai/mode morph":
            click(text)
    heard += peer.collect(1.0)
    addresses = [address for address, _ in heard]
    assert (
        "/liveai/out/morph_ready" in addresses and ("/liveai/out/morph", [pytest.approx(96 / 127)]) in heard
    )
    assert [args for address, args in heard if address == "/liveai/out/note"], "the loop played"
    assert "/liveai/error" not in addresses, [m for m in heard if m[0] == "/liveai/error"]
    for said in (
        ("/liveai/out/mode", ["duet"]),
        ("/liveai/out/mode", ["autopilot"]),
        ("/liveai/out/density", [pytest.approx(0.7)]),
        ("/liveai/out/key", ["A"]),
        ("/liveai/out/scale", ["minor"]),
        ("/liveai/out/scale", ["dorian"]),
        ("/liveai/out/low", [48]),
        ("/liveai/out/high", [84]),
    ):
        assert said in heard, said  # the duet, autopilot and key boxes took effect
