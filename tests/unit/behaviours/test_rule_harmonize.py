"""Harmonize by rule: voices stay in the key and the range, never double the played note."""

from __future__ import annotations

import logging

from fakes import make_engine
from hypothesis import given
from hypothesis import strategies as st

from liveai.behaviours.rule_harmonize import voices_for
from liveai.config import HarmonizeConfig
from liveai.events import NoteOff, NoteOn
from liveai.music.scales import KEYS, SCALES, Scale, fit_range

configs = st.builds(
    HarmonizeConfig,
    key=st.sampled_from(KEYS),
    scale=st.sampled_from(SCALES),
    intervals=st.lists(st.integers(-24, 24), min_size=1, max_size=4),
    interval_unit=st.sampled_from(["degrees", "semitones"]),
    low=st.integers(0, 60),
    high=st.integers(72, 127),
)


@given(configs, st.integers(0, 127))
def test_voices_in_scale_and_range(config, pitch):
    scale = Scale(config.key, config.scale)
    voices = voices_for(config, pitch)
    assert len(voices) == len(set(voices)) <= len(config.intervals)
    for voice in voices:
        assert voice in scale
        assert config.low <= voice <= config.high
        assert voice != pitch


def test_c_major_triads_by_degrees():
    c = HarmonizeConfig()
    assert voices_for(c, 60) == [64, 67]  # C: E G
    assert voices_for(c, 62) == [65, 69]  # D: F A
    assert voices_for(c, 71) == [74, 77]  # B: D F
    assert voices_for(c, 61) == [64, 67]  # C# is taken as C (snapped down), voices stay in key


def test_semitone_intervals_are_snapped_into_the_key():
    c = HarmonizeConfig(key="A", scale="minor", intervals=[4, 7], interval_unit="semitones")
    assert voices_for(c, 57) == [60, 64]  # A + major third C# snaps to C (A minor); + fifth E


def test_range_moves_voices_by_octaves():
    c = HarmonizeConfig(low=60, high=72)
    assert all(60 <= v <= 72 for v in voices_for(c, 70))
    assert fit_range(100, 60, 72) == 64
    assert fit_range(61, 62, 62) is None


def test_note_offs_follow_the_player_and_retrigger_replaces():
    engine, clock, sink = make_engine()
    engine.handle(NoteOn(60, 100, source="osc:a:1"))
    engine.handle(NoteOn(60, 50, source="osc:a:1"))  # retrigger
    engine.handle(NoteOff(60, source="osc:a:2"))  # oscsend: another socket, the same player
    kinds = [(type(e).__name__, e.pitch) for e in sink.events()]
    assert kinds == [
        ("NoteOn", 64),
        ("NoteOn", 67),
        ("NoteOff", 64),
        ("NoteOff", 67),
        ("NoteOn", 64),
        ("NoteOn", 67),
        ("NoteOff", 64),
        ("NoteOff", 67),
    ]


def test_deadline_misses_are_all_counted_but_logged_at_most_once_a_second(caplog):
    """Under overload every note may miss; the log must not grow by a line per note."""
    engine, clock, _ = make_engine()
    with caplog.at_level(logging.INFO, logger="liveai.core.engine"):
        for i in range(300):  # 3 s of misses at 100 per second
            clock.t = i / 100
            engine.miss("harmonize", "main", "no model answer within 5 ms")
    lines = [r.getMessage() for r in caplog.records if "deadline miss" in r.getMessage()]
    assert engine.stats.snapshot(clock.t)["deadline_misses"] == 300
    assert len(lines) == 3
    assert "(99 misses since the last report)" in lines[1]


def test_the_minor_scales_are_those_of_a_minor_key():
    from liveai.music.scales import MINOR_SCALES

    assert MINOR_SCALES == {"minor", "harmonic_minor", "dorian", "phrygian", "pentatonic_minor", "blues"}
