"""A CI-sized `liveai bench --audio` (15 s for each of 4 streams; the note reports 10
minutes): it runs end to end under a real JACK server, the stream plays every block,
notes sound the constant lead after they are due that the engine promises, and every
figure the README quotes is there."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import need

from liveai.bench.audio import NARROWER_MS
from liveai.config import AudioConfig

SECONDS = 15


@pytest.mark.slow
def test_bench_audio_runs_and_its_stream_keeps_time() -> None:
    need("jackd")
    done = subprocess.run([sys.executable, "-m", "liveai", "bench", "--audio", "--seconds", str(SECONDS)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)["audio"]
    rtf = report["rtf_one_thread"]
    assert set(rtf["48khz"]) == set(rtf["24khz"]) == {"1_voices", "4_voices", "8_voices", "16_voices"}
    assert all(v > 0 for v in [*rtf["48khz"].values(), *rtf["24khz"].values()])
    default = AudioConfig().headroom_ms
    assert [(s["frames"], s["headroom_ms"]) for s in report["stream"]] == [
        (256, default), (256, NARROWER_MS), (128, default), (128, NARROWER_MS)]
    for s in report["stream"]:
        expected_blocks = SECONDS * 48000 / s["frames"]
        assert s["blocks"] > 0.8 * expected_blocks, s  # the callback ran throughout the load
        assert s["notes_per_s"] > 150, s
        lead_ms = 1000 * s["frames"] / 48000 + s["headroom_ms"]
        assert s["lead_ms"] == pytest.approx(lead_ms, abs=0.01)
        assert abs(s["note_to_callback_ms_p50"] - lead_ms) < 1.0, s  # the mapping's constant lead
        # The render process is realtime wherever the system allows it (as it allows jackd).
        assert s["render_realtime"] == s["jackd_realtime"] and s["dropped_notes"] == 0, s
        for key in ("underruns", "xruns", "late_notes", "render_ms_p99", "render_ms_p99_idle", "stream_latency_ms"):
            assert key in s
