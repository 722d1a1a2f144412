"""A CI-sized `liveai bench --audio`: one stream, at 128 frames (the tighter period) and
the default headroom, 6 s under load and 60 probe notes (the full run plays 4 streams,
for as long as asked). It runs end to end under a real JACK server, the stream plays
on (at least half its blocks: a VM's host may steal the rest), note -> sound is
measured from outside on JACK's clock (its bound is tested in test_audio_jack.py; here
only that it is a measurement: most notes measured, a spread, no freeze), and every
figure docs/figures.md quotes is there."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import need

from liveai.config import AudioConfig

SECONDS = 6
FRAMES = 128
NOTES = 60  # note -> sound probes per stream: at 4 s and 40, 7 went unmeasured run alone


@pytest.mark.slow
def test_bench_audio_runs_and_its_stream_keeps_time() -> None:
    need("jackd")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "liveai",
            "bench",
            "--audio",
            "--seconds",
            str(SECONDS),
            "--notes",
            str(NOTES),
            "--frames",
            str(FRAMES),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)["audio"]
    rtf = report["rtf_one_thread"]
    assert set(rtf["48khz"]) == set(rtf["24khz"]) == {"1_voices", "4_voices", "8_voices", "16_voices"}
    assert all(v > 0 for v in [*rtf["48khz"].values(), *rtf["24khz"].values()])
    default = AudioConfig().headroom_ms
    assert [(s["frames"], s["headroom_ms"]) for s in report["stream"]] == [(FRAMES, default)]
    for s in report["stream"]:
        expected_blocks = SECONDS * 48000 / s["frames"]
        # the callback ran throughout the load (JACK's dummy driver loses the cycles a VM's
        # host steals: 68 % of them played in one CI run)
        assert s["blocks"] > 0.5 * expected_blocks, s
        assert s["events_sent"] > 0 and s["events_in"] == s["events_sent"], s  # liveai took every note
        heard = s["note_to_sound_ms"]
        # a measurement, most notes measured (9 of 60 not in a CI run on a stolen CPU)
        assert heard["notes"] == NOTES and heard["not_measured"] <= NOTES // 5, heard
        assert 0 < heard["min"] <= heard["p50"] <= heard["p99"] <= heard["max"] < 250, heard  # not a freeze
        # The render process is realtime wherever the system allows it (as it allows jackd).
        assert s["render_realtime"] == s["jackd_realtime"] and s["dropped_notes"] == 0, s
        for key in (
            "underruns",
            "xruns",
            "jack_xruns",
            "late_notes",
            "render_ms_p99",
            "render_cpu_percent",
            "design_lead_ms",
            "stream_latency_ms",
        ):
            assert key in s
