"""`liveai devices` tells which MIDI systems work, their ports and the audio devices."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import pytest
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


@pytest.mark.skipif(bool(glob.glob("/dev/snd/pcm*")), reason="this machine has a sound card")
def test_with_no_sound_card_and_no_jack_the_audio_does_not_work():
    """With no sound card (CI's machines) PortAudio loads and lists no output to play on."""
    env = {**os.environ, "JACK_DEFAULT_SERVER": "liveai-no-such-server", "JACK_NO_START_SERVER": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "liveai", "devices"], capture_output=True, text=True, env=env, timeout=30
    )
    audio = json.loads(done.stdout)["audio"]
    assert audio["works"] is False and "no audio output device" in audio["problem"], audio
