"""A MIDI device plugged in and pulled out, then the JACK server killed and started again,
while a morph loop plays: OSC goes on, MIDI comes back, and libjack's chatter
stays out of liveai's log.

The gap bound is generous (a busy machine); `liveai bench --jack-kill` reports the
figure against the 20 ms target. Before liveai's MIDI had a process of its own, the
gap at the kill was ~1.1 s: closing a port of the dead server held the interpreter.
"""

from __future__ import annotations

import os

from conftest import JackServer, need

from liveai.bench.jack import free_slot
from liveai.bench.jack_kill import measure_jack_kill

SLACK_MS = 150.0  # beyond the music's spacing; the stall this catches was ~900 ms


def test_killing_jackd_never_stalls_osc_and_midi_comes_back(tmp_path):
    for program in ("jackd", "jack_lsp", "jack_connect", "jack_midi_dump", "stdbuf"):
        need(program)
    jack = JackServer(f"liveai-kill-{os.getpid()}")  # its own: the session's server must live on
    jack.start()
    try:
        got = measure_jack_kill(jack, tmp_path, before_s=2.0, down_s=2.0, after_s=2.0)
    finally:
        jack.stop()
        free_slot(jack.name, jack.start, jack.stop)  # a SIGKILLed server's entry in JACK's registry
    bound = got["spacing_ms"] + SLACK_MS
    assert got["at_kill"]["notes"] >= 6, got  # the loop played on over OSC while the server was down
    assert got["at_kill"]["largest_gap_ms"] < bound, got
    assert got["at_return"]["largest_gap_ms"] < bound, got
    assert got["device_plugged_in"]["largest_gap_ms"] < bound, got
    assert got["device_pulled_out"]["largest_gap_ms"] < bound, got
    assert got["midi_note_ons_heard"]["before_kill"] > 0, got
    assert got["midi_note_ons_heard"]["after_return"] > 0, got  # liveai found the server again
    assert got["libjack_in_log"]["raw_lines"] == 0, got  # none of libjack's own lines
    assert got["libjack_in_log"]["liveai_lines_quoting_it"] <= 1, got  # one debug line for the event
    assert got["sounding_after_stop"] == 0, got
