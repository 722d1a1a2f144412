"""The morph bench's jitter is measured against the clock's grid, not a line fitted to
the notes: a loop a little off the tempo shows, a loop on it reads zero."""

from __future__ import annotations

import pytest

from liveai.bench.morph import grid_jitter_ms

STEP = 0.125  # a 16th at 120 BPM


def test_notes_on_the_clocks_grid_have_no_error():
    onsets = [10.0 + STEP * s for s in (0, 2, 4, 5, 8, 12, 14, 16, 20, 31, 32, 40)]
    got = grid_jitter_ms(onsets, STEP)
    assert got["notes"] == 12 and got["step_ms"] == 125.0
    assert got["max_ms"] == pytest.approx(0, abs=1e-6) and got["mean_ms"] == pytest.approx(0, abs=1e-6)


def test_a_loop_off_the_tempo_is_off_the_grid():
    """1% fast: a straight line through the notes would fit them exactly (0 ms); against
    the clock's grid the error grows, 1.25 ms a 16th, to 20 ms at the 16th step."""
    onsets = [STEP * 0.99 * s for s in range(17)]
    got = grid_jitter_ms(onsets, STEP)
    assert got["max_ms"] == pytest.approx(20.0, abs=1e-6)
    assert got["mean_ms"] == pytest.approx(-10.0, abs=1e-6)  # early, more and more


def test_one_late_note_is_its_own_error():
    onsets = [STEP * s for s in range(8)]
    onsets[5] += 0.003
    got = grid_jitter_ms(onsets, STEP)
    assert got["max_ms"] == pytest.approx(3.0, abs=1e-6) and got["p50_ms"] == pytest.approx(0, abs=1e-6)
