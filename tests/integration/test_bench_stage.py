"""A CI-sized `liveai bench --play --pages 2`: both conditions are measured in one run, the
pages really read the feed, and none of them is dropped."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_stage_cost_measures_both_conditions_with_pages_reading() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "liveai", "bench", "--play", "--pages", "2", "--seconds", "0.5"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)["stage_cost"]
    for condition in ("no_page", "2_pages"):
        figures = report[condition]
        assert figures["sent"] == 300 and figures["answered"] > 250, figures  # 3 turns x 0.5 s x 200 notes/s
        assert figures["p99_ms"] > 0 and "deadline_misses" in figures
    assert report["page_frames_read"] > 0 and report["page_items_read"] > report["page_frames_read"]
    assert report["web_clients_dropped"] == 0
    assert report["p99_ratio_pages_to_none"] > 0
