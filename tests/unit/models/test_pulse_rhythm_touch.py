"""The duet's ear for time and touch: a call's pulse and phase from its onsets alone,
the grid mask on time-shift tokens, the polyphony and burst limits, and velocities
that follow the call's level, accents and contour."""

from __future__ import annotations

import torch

from liveai.models import codec
from liveai.models.rhythm import Rhythm
from liveai.models.sampling import Constraints, constraint_mask, sample_tokens
from liveai.music.note import Note
from liveai.music.pulse import Pulse, clock_pulse, infer_pulse, most_together, rhythm_pattern, shortest_ioi
from liveai.music.touch import touch_of


def call(onsets, velocity=80, pitch=60):
    return [
        Note(t, t + 0.1, pitch, velocity if isinstance(velocity, int) else velocity[i])
        for i, t in enumerate(onsets)
    ]


def test_the_pulse_and_phase_of_eighths_and_quarters_played_late_with_jitter():
    """Eighths and quarters at 100 BPM, the phrase begun 1.234 s in, each onset off by up
    to 15 ms: the grid is the eighth (0.3 s) through the onsets, not the first gap."""
    beats = [0, 0.5, 1, 2, 2.5, 3, 4, 4.5, 5.5, 6]
    jitter = [0.0, 0.012, -0.01, 0.015, -0.008, 0.0, 0.01, -0.015, 0.004, -0.006]
    notes = call([1.234 + b * 0.6 + j for b, j in zip(beats, jitter)])
    pulse = infer_pulse(notes)
    assert pulse is not None
    assert abs(pulse.period - 0.3) < 0.005
    assert pulse.error(1.234) < 0.02 and pulse.error(1.234 + 6 * 0.6) < 0.02
    # carried forward: the grid point after the phrase is where an eighth would be
    nxt = pulse.after(1.234 + 6.6 * 0.6)
    assert abs(nxt - (1.234 + 7 * 0.6)) < 0.03


def test_the_coarsest_grid_that_holds_the_onsets_and_none_without_one():
    assert abs(infer_pulse(call([0.0, 0.6, 1.2, 1.8, 3.0])).period - 0.6) < 1e-6  # quarters: a quarter grid
    dotted = infer_pulse(call([0.0, 0.45, 0.6, 1.2, 1.65, 1.8]))  # dotted eighth and sixteenth
    assert abs(dotted.period - 0.15) < 1e-6
    assert infer_pulse(call([0.0, 0.5])) is None  # too few onsets
    assert infer_pulse(call([0.0, 0.31, 0.83, 0.97, 1.61, 1.7, 2.33, 2.41])) is None  # no regular pulse


def test_a_chord_counts_once_for_the_pulse_and_for_polyphony():
    notes = call([0.0, 0.3, 0.6, 0.9]) + [Note(0.005, 0.3, 64, 80), Note(0.61, 0.9, 67, 80)]
    assert abs(infer_pulse(notes).period - 0.3) < 1e-6
    assert most_together(notes) == 2 and most_together(call([0.0, 0.3])) == 1
    assert abs(shortest_ioi(notes) - 0.3) < 1e-6


def test_a_running_clock_gives_the_grid_divided_as_the_call_moves():
    assert clock_pulse(10.0, 0.5, 0.25) == Pulse(0.25, 10.0)
    assert clock_pulse(10.0, 0.5, None) == Pulse(0.25, 10.0)  # eighths unless the call says
    assert clock_pulse(10.0, 0.6, 0.6) == Pulse(0.6, 10.0)


def sample_answer(rhythm: Rhythm, constraints: Constraints, steps: int, seed: int = 0) -> list[int]:
    """Tokens drawn from flat logits under the constraints and the rhythm (the worst case:
    a model with no sense of time at all)."""
    gen = torch.Generator().manual_seed(seed)
    sounding: set[int] = set()
    out: list[int] = []
    while rhythm.position < steps:
        allowed = rhythm.mask(constraint_mask(constraints, sounding))
        logits = rhythm.lean(torch.zeros(codec.VOCAB_SIZE), allowed)
        token = int(sample_tokens(logits[None], temperature=1.0, allowed=allowed, generator=gen)[0])
        rhythm.observe(token)
        if codec.is_note_on(token):
            sounding.add(codec.token_pitch(token))
        elif codec.is_note_off(token):
            sounding.discard(codec.token_pitch(token))
        out.append(token)
    return out


def onsets(tokens: list[int]) -> list[int]:
    step, out = 0, []
    for t in tokens:
        if codec.is_time_shift(t):
            step += codec.time_shift_steps(t)
        elif codec.is_note_on(t):
            out.append(step)
    return out


def test_the_grid_mask_keeps_every_onset_on_the_grid():
    """Even a model that would place notes anywhere (flat logits) begins them only on the
    grid, here 28.7 steps (a pulse that is no whole number of 10 ms steps)."""
    rhythm = Rhythm(28.7)
    tokens = sample_answer(rhythm, Constraints(), 2000)
    ons = onsets(tokens)
    assert len(ons) > 20
    assert all(rhythm.on_grid(t) for t in ons), [t for t in ons if not rhythm.on_grid(t)]
    assert any(codec.is_note_off(t) for t in tokens)  # note-offs stay free


def test_a_melody_answers_a_melody_no_chord_no_burst():
    """No grid (no pulse heard): still never two onsets at once for a call of single
    notes, and never two sooner than half the call's shortest gap."""
    rhythm = Rhythm(None, min_gap_steps=15, together=1)
    ons = onsets(sample_answer(rhythm, Constraints(), 3000, seed=3))
    assert len(ons) > 10
    gaps = [b - a for a, b in zip(ons, ons[1:])]
    assert min(gaps) >= 15, gaps


def test_a_call_with_chords_may_be_answered_with_chords_of_its_size():
    rhythm = Rhythm(20.0, together=2)
    ons = onsets(sample_answer(rhythm, Constraints(max_polyphony=4), 3000, seed=5))
    together = max(ons.count(t) for t in ons)
    assert together == 2


def test_the_rhythm_lean_draws_onsets_toward_the_calls_pattern():
    """A call of quarter notes on an eighth grid (gaps of 2): with the lean the flat model
    mostly plays gaps of 2 grid points; without it, at its own (flat) odds, far fewer."""

    def share_of_twos(pull: float) -> float:
        rhythm = Rhythm(30.0, together=1, pattern=[2] * 8, pull=pull)
        ons = onsets(sample_answer(rhythm, Constraints(), 6000, seed=7))
        gaps = [round((b - a) / 30.0) for a, b in zip(ons, ons[1:])]
        return sum(g == 2 for g in gaps) / len(gaps)

    assert share_of_twos(1.0) > 0.8
    assert share_of_twos(0.0) < 0.6


def test_the_calls_pattern_and_where_it_plays_in_the_cycle():
    pulse = Pulse(0.15, 0.0)
    dotted = call([0.0, 0.45, 0.6, 1.05, 1.2])  # grid points 0, 3, 4, 7, 8
    pattern, places = rhythm_pattern(dotted, pulse, first=0)
    assert pattern == [3, 1, 3, 1]
    assert places[0] > 1.0 > places[1]  # it plays on even points more than odd ones


def test_velocity_follows_the_calls_level_accents_and_contour():
    eighths = [i * 0.3 for i in range(12)]
    pulse = infer_pulse(call(eighths))
    soft, loud = touch_of(call(eighths, 50), pulse), touch_of(call(eighths, 100), pulse)
    assert soft.velocity(5.0, 0.5) == 50 and loud.velocity(5.0, 0.5) == 100
    assert loud.velocity(5.0, 0.5, scale=0.8) == 80  # duet.velocity scales it
    accented = touch_of(call(eighths, [96 if i % 2 == 0 else 64 for i in range(12)]), pulse)
    on, off = accented.velocity(12 * 0.3, 0.5), accented.velocity(13 * 0.3, 0.5)  # the grid carried on
    assert on - off > 25, (on, off)
    rising = touch_of(call(eighths, [40 + 5 * i for i in range(12)]), pulse)
    assert rising.velocity(4.0, 1.0) - rising.velocity(4.0, 0.0) > 45  # a crescendo answered by one
    assert touch_of([], None) is None


def test_an_answer_keeps_the_calls_level_after_a_run_and_a_late_crescendo():
    """A run of sixteenths then quarters getting louder: the notes' mean place is early in
    the phrase, and the answer, its notes spread evenly, is as loud on average as the
    call (times duet.velocity), not raised by the contour taken up as accents."""
    starts = [i * 0.15 for i in range(10)] + [1.35 + 0.6 * i for i in range(1, 5)]
    velocities = [60] * 10 + [70, 80, 90, 100]
    notes = call(starts, velocities)
    pulse = infer_pulse(notes)
    touch = touch_of(notes, pulse)
    assert touch.accents == ()  # it has none: the contour explains it
    level = sum(velocities) / len(velocities)
    first, n = pulse.after(starts[-1] + 0.5), 24
    for scale in (1.0, 0.8):
        answer = [touch.velocity(first + k * pulse.period, k / (n - 1), scale) for k in range(n)]
        assert abs(sum(answer) / n - level * scale) < 1.0, (sum(answer) / n, level * scale)


def test_accents_move_notes_about_the_level_never_the_level():
    """Loud on the beat, soft off it, ending on a beat (7 loud, 6 soft): the accents sum
    to nothing over their cycle, so a long answer is as loud as the call on average."""
    eighths = [i * 0.3 for i in range(13)]
    touch = touch_of(call(eighths, [96 if i % 2 == 0 else 64 for i in range(13)]), infer_pulse(call(eighths)))
    assert len(touch.accents) == 2 and touch.accents[0] - touch.accents[1] > 25
    assert abs(sum(touch.accents)) < 1e-9, touch.accents


def test_a_time_shift_lands_on_a_grid_point_as_point_has_it():
    """Grids of 2.1, 1.3 and 2.9 steps put points near halves, where a float32 rounding
    and point() disagree: the mask lets a shift stop short of the next point or land on
    exactly the points point() gives, checked at every position."""
    for period in (2.1, 1.3, 2.9, 28.7):
        for pull in (0.0, 0.5):
            rhythm = Rhythm(period, pattern=[1, 2], pull=pull)
            points = {rhythm.point(k) for k in range(400)}
            for pos in range(300):
                rhythm.position = pos
                allowed = rhythm.mask(torch.ones(codec.VOCAB_SIZE, dtype=torch.bool))
                shifts = allowed[codec.TIME_SHIFT_OFFSET : codec.VELOCITY_OFFSET]
                nxt = rhythm.next_point(pos)
                want = [
                    t < nxt or (t in points and (not pull or t <= nxt)) for t in range(pos + 1, pos + 101)
                ]
                assert shifts.tolist() == want, (period, pull, pos)
