"""`liveai devices` tells which MIDI systems work, their ports and the audio devices."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import wait_until


def test_devices_lists_jack_ports_and_audio(jack, start_server):
    start_server(midi=True, env=jack.env())
    # the pong comes when OSC is up; MIDI ports open beside it, later on a busy machine
    wait_until(
        lambda: sum(p.endswith(("liveai in", "liveai out")) for p in jack.ports()) == 2, 10, "MIDI ports"
    )
    done = subprocess.run(
        [sys.executable, "-m", "liveai", "devices"],
        capture_output=True,
        text=True,
        env=jack.env(),
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["midi"]["chosen_api"] == "jack"
    jack_ports = report["midi"]["apis"]["jack"]
    assert jack_ports["works"] is True
    assert any(name.endswith("liveai out") for name in jack_ports["inputs"])  # readable by others
    assert any(name.endswith("liveai in") for name in jack_ports["outputs"])
    assert "works" in report["audio"]
