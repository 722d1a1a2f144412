"""Codec: vocabulary layout, offline and streaming round trips."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from note_checks import assert_notes_close

from liveai.models import codec
from liveai.music.note import Note


def velocity_token(velocity: int) -> int:
    return codec.VELOCITY_OFFSET + codec.velocity_to_bin(velocity)


def test_vocabulary_layout() -> None:
    assert codec.VOCAB_SIZE == 390
    assert (codec.NOTE_OFF_OFFSET, codec.TIME_SHIFT_OFFSET, codec.VELOCITY_OFFSET) == (128, 256, 356)
    assert (codec.START, codec.PAD) == (388, 389)
    assert codec.time_shift(1) == 256 and codec.time_shift(100) == 355
    assert codec.is_note_on(0) and codec.is_note_off(255) and codec.is_velocity(387)
    assert not codec.is_velocity(codec.START)
    assert codec.time_shift_tokens(250) == [
        codec.time_shift(100),
        codec.time_shift(100),
        codec.time_shift(50),
    ]
    for v in range(1, 128):
        assert abs(codec.bin_to_velocity(codec.velocity_to_bin(v)) - v) <= codec.VELOCITY_BIN_WIDTH
        assert codec.velocity_to_bin(
            codec.bin_to_velocity(codec.velocity_to_bin(v))
        ) == codec.velocity_to_bin(v)


def test_encode_simple() -> None:
    notes = [Note(0.0, 0.5, 60, 80), Note(0.5, 1.0, 62, 80)]
    toks = codec.encode_notes(notes, start_token=True)
    vel = velocity_token(80)
    assert toks == [
        codec.START,
        vel,
        codec.note_on(60),
        codec.time_shift(50),
        codec.note_off(60),  # offs before ons at the same instant
        codec.note_on(62),  # same velocity bin: no velocity token
        codec.time_shift(50),
        codec.note_off(62),
    ]


notes_strategy = st.lists(
    st.tuples(
        st.floats(0, 30, allow_nan=False),
        st.floats(0.011, 4, allow_nan=False),
        st.integers(0, 127),
        st.integers(1, 127),
    ),
    max_size=40,
).map(lambda rows: [Note(s, s + d, p, v) for s, d, p, v in rows])


@settings(max_examples=200, deadline=None)
@given(notes_strategy)
def test_round_trip_property(notes: list[Note]) -> None:
    """decode(encode(x)) matches the normalised notes within 10 ms and one velocity bin."""
    expected = codec.normalise_notes(notes)
    assert_notes_close(codec.decode_tokens(codec.encode_notes(notes)), expected)
    # normalisation only touches what the codec cannot express
    for n in expected:
        assert n.end > n.start


@settings(max_examples=100, deadline=None)
@given(notes_strategy)
def test_streaming_encoder_matches_offline(notes: list[Note]) -> None:
    norm = codec.normalise_notes(notes)
    events = sorted(
        [(n.end, 0, n.pitch, 0) for n in norm] + [(n.start, 1, n.pitch, n.velocity) for n in norm],
        key=lambda e: (round(e[0] / codec.TIME_STEP_S), e[1], e[2]),
    )
    enc = codec.StreamingEncoder()
    toks: list[int] = []
    t0 = 12345.678  # live clocks have an arbitrary origin
    for t, kind, pitch, vel in events:
        toks += enc.feed("on" if kind else "off", pitch, vel, t0 + t)
    first = round(norm[0].start / codec.TIME_STEP_S) if norm else 0
    shifted = [Note(n.start - first * 0.01, n.end - first * 0.01, n.pitch, n.velocity) for n in norm]
    assert_notes_close(codec.decode_tokens(toks), shifted)


def test_streaming_encoder_details() -> None:
    enc = codec.StreamingEncoder()
    assert enc.feed("on", 60, 100, 5.0) == [velocity_token(100), codec.note_on(60)]
    assert enc.feed("off", 61, 0, 5.1) == []  # not sounding: nothing, no time emitted
    assert enc.feed("on", 64, 100, 5.25) == [codec.time_shift(25), codec.note_on(64)]
    # velocity 0 is a note-off; 1.5 s later needs two shifts
    assert enc.feed("on", 60, 0, 6.75) == [codec.time_shift(100), codec.time_shift(50), codec.note_off(60)]
    # re-strike of a sounding pitch closes it first
    assert enc.feed("on", 64, 40, 6.75) == [codec.note_off(64), velocity_token(40), codec.note_on(64)]


def test_unclosed_notes_end_at_last_time() -> None:
    toks = [codec.note_on(60), codec.time_shift(30), codec.note_on(64)]
    notes = codec.decode_tokens(toks)
    assert notes == [
        Note(0.0, 0.3, 60, codec.DEFAULT_VELOCITY),
        Note(0.3, 0.31, 64, codec.DEFAULT_VELOCITY),
    ]


def test_streaming_decoder() -> None:
    dec = codec.StreamingDecoder()
    evs = [
        e
        for t in [velocity_token(90), codec.note_on(60), codec.time_shift(10), codec.note_off(60)]
        for e in dec.feed(t)
    ]
    assert [(e.kind, e.pitch, round(e.t, 3)) for e in evs] == [("on", 60, 0.0), ("off", 60, 0.1)]
    assert evs[0].velocity == codec.bin_to_velocity(codec.velocity_to_bin(90))
