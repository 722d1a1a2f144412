"""The duet live over OSC with the real server and the shipped GRU: it answers in the
player's touch (louder when the call is louder) and on the call's beat (its first note
on the grid of the call's onsets carried forward, not a fixed gap after the last)."""

from __future__ import annotations

import time

from liveai.bench.harness import OscPeer


def wait_until(t: float) -> None:
    """Sleep to `t` (perf_counter), the last millisecond spun: the call's onsets are its pulse."""
    while (left := t - time.perf_counter()) > 0.002:
        time.sleep(left - 0.002)
    while time.perf_counter() < t:
        pass


def play(
    peer: OscPeer, pitches: list[int], period: float, length: float, velocities: list[int]
) -> list[float]:
    """The call, one note every `period` s; returns when each note-on was sent."""
    t0 = time.perf_counter() + 0.05
    sent = []
    for i, (pitch, velocity) in enumerate(zip(pitches, velocities)):
        wait_until(t0 + i * period)
        sent.append(time.perf_counter())
        peer.send("/liveai/note", pitch, velocity, 1)
        wait_until(t0 + i * period + length)
        peer.send("/liveai/note", pitch, 0, 1)
    return sent


def answer(peer: OscPeer, seconds: float) -> list[tuple[float, int, int]]:
    """(arrival, pitch, velocity) of the answer's note-ons within `seconds`."""
    out = []
    deadline = time.perf_counter() + seconds
    while (left := deadline - time.perf_counter()) > 0:
        got = peer.receive(left)
        if got is not None and got[0] == "/liveai/out/note" and got[1][1] > 0:
            out.append((time.perf_counter(), int(got[1][0]), int(got[1][1])))
    return out


TUNE = [60, 62, 64, 65, 67, 65, 64, 62]


def test_the_answer_is_louder_when_the_call_is_played_louder(start_server):
    _, peer = start_server(
        "server.mode=duet", "duet.phrase_gap_ms=300", "duet.max_response_s=1.5", "model.seed=1", model="gru"
    )
    means = []
    for velocity in (40, 110):
        play(peer, TUNE, 0.2, 0.15, [velocity] * len(TUNE))
        notes = answer(peer, 2.5)
        assert len(notes) >= 3, f"an answer to the call at {velocity}: {notes}"
        means.append(sum(v for _, _, v in notes) / len(notes))
    soft, loud = means
    assert abs(soft - 40) <= 8 and abs(loud - 110) <= 8, means  # at the player's level (duet.velocity = 1)
    assert peer.status()["sounding_notes"] == 0


def test_the_answer_follows_the_calls_accents(start_server):
    _, peer = start_server(
        "server.mode=duet", "duet.phrase_gap_ms=300", "duet.max_response_s=2.0", "model.seed=2", model="gru"
    )
    period = 0.25
    sent = play(peer, TUNE, period, 0.15, [110 if i % 2 == 0 else 50 for i in range(len(TUNE))])
    notes = answer(peer, 3.0)
    assert len(notes) >= 4, notes
    strong = [v for t, _, v in notes if round((t - sent[0]) / period) % 2 == 0]
    weak = [v for t, _, v in notes if round((t - sent[0]) / period) % 2 == 1]
    assert strong and weak, notes
    assert min(strong) > max(weak), (strong, weak)  # the downbeats of the call's pairs stay loud


def test_the_first_answer_note_lands_on_the_calls_grid(start_server):
    """Notes every 0.5 s, 0.1 s long, the phrase gap 500 ms: the gap alone would start
    the answer 0.61 s after the last onset, 110 ms after a grid point."""
    _, peer = start_server("server.mode=duet", "duet.phrase_gap_ms=500", "model.seed=3", model="gru")
    peer.drain()
    period = 0.5
    sent = play(peer, TUNE, period, 0.1, [90] * len(TUNE))
    notes = answer(peer, 2.5)
    assert notes, "the model answers"
    n = len(sent)
    mean_k, mean_t = (n - 1) / 2, sum(sent) / n
    fitted = sum((k - mean_k) * (t - mean_t) for k, t in enumerate(sent)) / sum(
        (k - mean_k) ** 2 for k in range(n)
    )
    off = [(t - mean_t) / fitted + mean_k for t, _, _ in notes]  # in grid points of the call
    first = off[0]
    assert abs(first - round(first)) * period < 0.04, f"the first note is {first:.3f} grid points in"
    assert round(first) == n + 1, "on the first grid point after the gap"
    on_grid = [abs(k - round(k)) * period < 0.04 for k in off]
    assert sum(on_grid) >= 0.75 * len(on_grid), off
