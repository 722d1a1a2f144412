"""`liveai serve` as users start it: the default config, signals, bad config, --version."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from liveai import __version__
from liveai.bench.harness import OscPeer, ServerProcess, free_port


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_default_config_signal_exits_cleanly_with_note_offs(tmp_path, sig):
    """`liveai serve` with the default config (but for its two ports, so that a liveai
    running on this machine does not get in the way): the shipped GRU harmonizing. Held
    notes are released on exit."""
    port = free_port()
    with OscPeer(port) as peer:
        server = ServerProcess(
            [f"osc.port={port}", f'osc.targets=["127.0.0.1:{peer.port}"]'], log_path=tmp_path / "serve.log"
        ).start()
        peer.wait_pong(timeout=30)
        peer.send("/liveai/note", 60, 100)
        peer.send("/liveai/note", 62, 90, 2)
        held = {tuple(a) for address, a in peer.collect(0.5) if address == "/liveai/out/note"}
        status = peer.status()
        # the default config loads the shipped model, and it heard the notes
        assert status["model_gru_steps"] > 0
        c_major = {0, 2, 4, 5, 7, 9, 11}
        assert len([n for n in held if n[2] == 1]) == 2 and len([n for n in held if n[2] == 2]) == 2
        assert all(pitch % 12 in c_major and velocity > 0 for pitch, velocity, _ in held)
        # exits 0 on its own; stop's 10 s catch a hang (how fast depends on the machine's load)
        assert server.stop(sig) == 0
        released = {tuple(a) for address, a in peer.collect(0.3) if address == "/liveai/out/note"}
        assert released == {(pitch, 0, channel) for pitch, _, channel in held}
    assert "Traceback" not in server.log()


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "liveai", *args], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize(
    "override, message",
    [
        ("osc.port=70000", "osc.port: 70000 is out of range 0..65535"),
        ("harmonize.scale=jazzy", "harmonize.scale: 'jazzy' is not one of"),
        ("osc.hots=1", "osc.hots: unknown key"),
        ("mqtt.url=http://x", "mqtt.url: 'http://x' must start with mqtt:// or mqtts://"),
    ],
)
def test_bad_config_one_line_exit_2(override, message):
    done = run_cli("serve", "--set", override)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr


def test_bad_config_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[osc]\nport = 'nine'\n")
    done = run_cli("serve", "--config", str(path))
    assert done.returncode == 2 and "osc.port: expected an integer" in done.stderr
    done = run_cli("serve", "--config", str(tmp_path / "missing.toml"))
    assert done.returncode == 2 and "cannot read config file" in done.stderr


def test_port_in_use_is_one_line_before_the_models_load():
    """The default config loads the shipped models (seconds); a port taken is said first,
    in one line, exit 2, and nothing was loaded."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        started = time.monotonic()
        done = run_cli("serve", "--set", f"osc.port={port}", "--set", "midi.api=none", "-v")
        took = time.monotonic() - started
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"liveai: config error: osc.port: cannot listen for OSC on 127.0.0.1:{port}: "
        "Address already in use (another liveai? set osc.port, or osc.enabled = false)"
    ], done.stderr  # with -v: no model was loaded before
    assert took < 10, took  # a freeze, not a figure: it takes ~0.3 s, loading the models first ~3 s


def test_version():
    done = run_cli("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"liveai {__version__}"


def test_a_server_without_models_never_loads_torch(start_server):
    """Rule harmony and thru need no model, and a server without one starts without
    torch (importing it is most of a start's CPU): the modes that play from a model, the
    worker and the live learning are imported where a model is loaded."""
    server, peer = start_server()  # model.continuation = "", audio off
    peer.send("/liveai/note", 60, 100)  # rule harmony answers
    assert peer.expect("/liveai/out/note")[1] > 0
    peer.send("/liveai/note", 60, 0)
    assert server.proc is not None
    maps = Path(f"/proc/{server.proc.pid}/maps").read_text()
    assert "libtorch" not in maps
