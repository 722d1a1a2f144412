"""liveai's sound when things are missing: no audio device at start is one warning and
liveai serves on (the notes over OSC) while it looks again; a missing or broken synth
with audio.enabled is one clear line and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

NO_JACK = {"JACK_DEFAULT_SERVER": "liveai-no-such-server", "JACK_NO_START_SERVER": "1"}


def test_no_audio_device_at_start_is_one_warning_and_liveai_serves_on(start_server, tmp_path: Path) -> None:
    server, peer = start_server("audio.enabled=true", 'server.mode="thru"', env=NO_JACK)
    # the synth's process loads torch first (a few seconds on a busy machine)
    deadline = time.monotonic() + 30
    while peer.status()["audio"] != "no device" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert peer.status()["audio"] == "no device"
    peer.send("/liveai/note", 64, 90)
    assert peer.expect("/liveai/out/note", timeout=3)[:2] == [64, 90]
    peer.send("/liveai/note", 64, 0)
    time.sleep(2.0)  # it has looked again meanwhile (0.5 s, then 1 s)
    warnings = [line for line in server.log().splitlines() if "serving without audio" in line]
    assert len(warnings) == 1, warnings
    assert "no audio output device" in warnings[0]


def serve_exit(tmp_path: Path, model: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "liveai",
            "serve",
            "--set",
            "audio.enabled=true",
            "--set",
            f'audio.model="{model}"',
            "--set",
            "midi.api=none",
            "--set",
            "osc.port=0",
            "--set",
            "web.port=0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **NO_JACK},
    )


def test_a_missing_synth_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = serve_exit(tmp_path, str(tmp_path / "nowhere.pt"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert (
        lines[-1].startswith("liveai: config error: audio.model: no checkpoint at")
        and "nowhere.pt" in lines[-1]
    )


def test_a_broken_synth_is_one_line_and_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "synth.pt"
    broken.write_bytes(b"PK\x03\x04 not a checkpoint at all")
    done = serve_exit(tmp_path, str(broken))
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("liveai: config error: audio.model: cannot read checkpoint") and "synth.pt" in last
