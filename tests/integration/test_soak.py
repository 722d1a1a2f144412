"""A CI-sized `liveai bench --soak`: three windows of 15 s of harmonize, duet and
autopilot at once on the shipped GRU. Nothing leaks: file descriptors, what the server
holds and its memory stay flat; the figures are printed (a 60-minute run is in the
issue note)."""

from __future__ import annotations

import io
import json

import pytest

from liveai.bench.soak import bench_soak

WINDOW_S = 15.0  # the long run's rows are minutes; the same figures, every 15 s


@pytest.mark.slow
def test_three_windows_of_mixed_play_leak_nothing():
    lines = io.StringIO()
    report = bench_soak(3, out=lines, window_s=WINDOW_S)
    rows = report["per_minute"]
    assert [r["minute"] for r in rows] == [1, 2, 3]
    assert all(
        r["answers"] > 1000 * WINDOW_S / 60 and r["errors"] == 0 and r["osc_timetagged_dropped"] == 0
        for r in rows
    )
    assert {r["sessions"] for r in rows} == {3} and {r["open_fds"] for r in rows} == {rows[0]["open_fds"]}
    assert max(r["scheduled"] for r in rows) < 1000
    assert rows[-1]["memory_mb"] - rows[0]["memory_mb"] < 20, rows
    print(json.dumps({k: v for k, v in report.items() if k != "per_minute"}))
