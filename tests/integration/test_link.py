"""liveai in an Ableton Link session with a second peer in this process (the issue's
two peers on one machine): a real `liveai serve` with clock.source = "link"; its
`/liveai/out/beat`s stamped as they arrive, set against the peer's own beat then.

Link finds its peers by UDP multicast (224.76.78.75:20808); on this machine it does
with no set-up, on loopback and the network interface alike. Where it cannot, the
bench raises at once, saying so (the peers did not find each other), and this test
fails rather than skip. The in-process check against the library's own session state
is tests/unit/transports/test_link_session.py.
"""

from __future__ import annotations

import statistics

from liveai.bench.link import bench_link


def test_liveai_follows_the_sessions_beat_and_tempo_and_leads_its_own(tmp_path):
    log = tmp_path / "server.log"
    try:
        got = bench_link(beats=64, bpm=240.0, new_bpm=200.0, proposed=150.0, log_path=log)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\nliveai's log:\n{log.read_text() if log.exists() else ''}") from None
    # 64 beats on the peer's grid, each in its place in the bar
    assert got["beats"] == 64 and got["off_phase_beats"] == 0
    # on the grid: the median within 2 ms, the p99 within 10, early or late. The target, p99
    # <= 2 ms, is the bench's figure (`liveai bench --link`): a test does not time a machine
    assert got["beat_error_ms"]["p50"] <= 2.0 and got["beat_error_ms"]["p99"] <= 10.0, got
    # a peer's tempo change: said within one beat, the next beats on the new grid
    change = got["tempo_change"]
    assert change["told_ms"] < change["beat_ms"], got
    assert change["off_phase_beats"] == 0
    assert statistics.median(abs(e) for e in change["errors_after_ms"]) <= 2.0, got
    # the tempo liveai proposes reaches the peer (the bench waits for it)
    assert got["proposed"]["reached_peer_ms"] < 1000, got
