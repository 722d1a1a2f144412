"""Masked tokens are never sampled; sampling is reproducible with a seed."""

from __future__ import annotations

import pytest
import torch

from liveai.models import codec
from liveai.models.sampling import Constraints, NoteTracker, Sampler, constraint_mask, sample_tokens

V = codec.VOCAB_SIZE


def test_forbidden_note_never_sampled_despite_strong_logit() -> None:
    c = Constraints(pitch_low=48, pitch_high=72)
    logits = torch.zeros(10_000, V)
    logits[:, codec.note_on(90)] = 30.0  # the model is sure it wants pitch 90
    logits[:, codec.START] = 30.0
    g = torch.Generator().manual_seed(0)
    toks = sample_tokens(logits, allowed=constraint_mask(c), generator=g)
    assert not (toks == codec.note_on(90)).any()
    assert not (toks == codec.START).any() and not (toks == codec.PAD).any()
    ons = toks[toks < codec.NOTE_OFF_OFFSET]
    assert ((ons >= 48) & (ons <= 72)).all()


def test_scale_and_range_mask() -> None:
    c = Constraints(pitch_classes=frozenset((0, 2, 4, 5, 7, 9, 11)), pitch_low=60, pitch_high=72)  # C major
    m = constraint_mask(c)
    allowed_ons = {p for p in range(128) if m[codec.note_on(p)]}
    assert allowed_ons == {60, 62, 64, 65, 67, 69, 71, 72}


def test_time_shift_bounds() -> None:
    m = constraint_mask(Constraints(min_time_shift_ms=50, max_time_shift_ms=200))
    steps = {codec.time_shift_steps(t) for t in codec.TIME_SHIFT_RANGE if m[t]}
    assert steps == set(range(5, 21))


def test_polyphony_and_note_offs() -> None:
    c = Constraints(max_polyphony=2)
    tr = NoteTracker()
    for token in (codec.note_on(60), codec.note_on(64)):
        tr.update(token)
    m = constraint_mask(c, tr.sounding)
    assert not m[codec.NOTE_ON_OFFSET : codec.NOTE_OFF_OFFSET].any()
    assert {p for p in range(128) if m[codec.note_off(p)]} == {60, 64}
    tr.update(codec.note_off(60))
    m = constraint_mask(c, tr.sounding)
    assert m[codec.note_on(67)] and not m[codec.note_off(60)]


def test_sampler_polyphony_never_exceeded() -> None:
    s = Sampler(Constraints(max_polyphony=3), seed=1)
    logits = torch.zeros(V)
    logits[codec.NOTE_ON_OFFSET : codec.NOTE_OFF_OFFSET] = 5.0  # wants to pile up notes
    for _ in range(2000):
        s.sample(logits)
        assert len(s.tracker.sounding) <= 3


def test_same_seed_same_sequence() -> None:
    logits = torch.randn(V, generator=torch.Generator().manual_seed(3))
    a = Sampler(temperature=1.2, top_p=0.9, seed=42)
    b = Sampler(temperature=1.2, top_p=0.9, seed=42)
    c = Sampler(temperature=1.2, top_p=0.9, seed=43)
    seq_a = [a.sample(logits) for _ in range(200)]
    assert seq_a == [b.sample(logits) for _ in range(200)]
    assert seq_a != [c.sample(logits) for _ in range(200)]


def test_top_p_keeps_nucleus_only() -> None:
    logits = torch.full((1, V), -10.0)
    logits[0, 1] = 5.0  # ~0.73 of the mass after softmax with token 2
    logits[0, 2] = 4.0
    g = torch.Generator().manual_seed(0)
    toks = sample_tokens(logits.expand(5000, V), top_p=0.5, generator=g)
    assert (toks == 1).all()
    toks = sample_tokens(logits.expand(5000, V), top_p=0.99, generator=g)
    assert set(toks.tolist()) <= {1, 2} and (toks == 2).any()


def test_greedy_respects_mask() -> None:
    logits = torch.zeros(1, V)
    logits[0, codec.note_on(100)] = 9.0
    logits[0, codec.note_on(60)] = 1.0
    tok = sample_tokens(logits, temperature=0, allowed=constraint_mask(Constraints(pitch_high=80)))
    assert int(tok) == codec.note_on(60)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pitch_low": 80, "pitch_high": 70},
        {"min_time_shift_ms": 500, "max_time_shift_ms": 100},
        {"min_time_shift_ms": 11, "max_time_shift_ms": 19},
        {"pitch_low": 61, "pitch_high": 61, "pitch_classes": frozenset({0})},
        {"max_polyphony": 0},
    ],
)
def test_bad_constraints_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Constraints(**kwargs)  # type: ignore[arg-type]


def test_choose_draws_distinct_candidates_and_respects_top_p():
    import numpy as np

    from liveai.behaviours.jobs import choose

    rng = np.random.default_rng(0)
    logits = np.array([5.0, 4.0, -30.0, 3.0, -30.0])
    for _ in range(200):
        picks = choose(logits, 3, 1.0, 0.95, rng)
        assert len(picks) == len(set(picks)) == 3
        assert 2 not in picks[:1] and 4 not in picks[:1]  # the first voice is never from the tail
    assert choose(logits, 9, 1.0, 0.95, rng) and len(choose(logits, 9, 1.0, 0.95, rng)) == 5
    same = [choose(logits, 2, 1.0, 0.95, np.random.default_rng(7)) for _ in range(3)]
    assert same[0] == same[1] == same[2]  # seeded: reproducible


def test_an_answers_first_chunk_ends_with_its_first_note_replied_before_it_is_fed():
    """The duet's first note goes out as soon as it is sampled: the chunk stops there,
    and the reply comes before the model step that feeds it back."""
    from liveai.behaviours import jobs
    from liveai.core.jobs import PEEK
    from liveai.models import codec

    events: list[tuple[str, object]] = []
    job = jobs.continuation(
        Sampler(seed=3),
        Constraints(),
        1.0,
        seconds=10.0,
        max_tokens=8,
        note_first=True,
        reply=lambda tokens: events.append(("reply", list(tokens))),
        until_note=True,
    )
    logits = torch.zeros(codec.VOCAB_SIZE)
    assert job.send(None) is PEEK
    try:
        while True:
            token = job.send(logits)
            events.append(("feed", token))
    except StopIteration as done:
        tokens = done.value
    assert codec.is_note_on(tokens[-1]) and not any(codec.is_note_on(t) for t in tokens[:-1])
    assert events[-2:] == [("reply", tokens), ("feed", tokens[-1])]
    assert [e[1] for e in events if e[0] == "feed"] == tokens  # every token heard, in order


def test_an_answers_mask_is_moved_once_per_token_and_on_the_cpu_not_at_all(monkeypatch):
    """The grid mask is used by the lean and by the sampling: moved to the logits' device
    by the job once per token (on a GPU each move would be a copy to wait on), and on
    the CPU not moved at all."""
    from liveai.behaviours import jobs
    from liveai.core.jobs import PEEK
    from liveai.models import codec
    from liveai.models.rhythm import Rhythm

    moves: list[torch.dtype] = []
    to = torch.Tensor.to

    def counted(self, *args, **kwargs):
        if self.dtype == torch.bool:
            moves.append(self.dtype)
        return to(self, *args, **kwargs)

    rhythm = Rhythm(30.0, together=1, pattern=[2] * 8, pull=1.0)
    job = jobs.continuation(Sampler(seed=3), Constraints(), 1.0, seconds=3.0, max_tokens=64, rhythm=rhythm)
    logits = torch.zeros(codec.VOCAB_SIZE)
    assert job.send(None) is PEEK
    monkeypatch.setattr(torch.Tensor, "to", counted)
    fed = 0
    try:
        while True:
            job.send(logits)
            fed += 1
    except StopIteration:
        pass
    assert fed > 20 and rhythm.last_onset is not None  # the lean ran, on notes
    assert moves == []


def test_a_full_chord_and_a_model_that_wants_a_note_cannot_stall_time():
    """A duet answer pushed toward notes while its chord is full may say only velocities
    (a note-on is not allowed): the job must move time on, not say velocities for ever."""
    from liveai.behaviours import jobs
    from liveai.core.jobs import PEEK
    from liveai.models import codec

    sampler = Sampler(seed=3)
    for pitch in (60, 64, 67):
        sampler.tracker.update(codec.note_on(pitch))  # the chord sounds: polyphony full
    logits = torch.full((codec.VOCAB_SIZE,), -10.0)
    logits[codec.VELOCITY_OFFSET : codec.START] = 10.0  # the model wants a velocity, then a note
    logits[codec.NOTE_ON_OFFSET : codec.NOTE_OFF_OFFSET] = 10.0
    job = jobs.continuation(
        sampler, Constraints(max_polyphony=3), 1.0, seconds=1.0, max_tokens=10_000, note_first=True
    )
    assert job.send(None) is PEEK
    tokens = []
    try:
        while True:
            tokens.append(job.send(logits))
    except StopIteration as done:
        tokens = done.value
    assert sum(codec.time_shift_steps(t) for t in tokens if codec.is_time_shift(t)) * codec.TIME_STEP_S >= 1.0
    assert len(tokens) < 1_000, len(tokens)  # the second of music came, not ten thousand velocities
