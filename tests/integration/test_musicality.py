"""Musical sanity of duet answers from the shipped models as the server plays them (int8,
TorchScript; fixed seeds, fake clock, the model stepped inline): the answer keeps the
prime's key (Krumhansl-Schmuckler), plays at a similar density (within a factor 2 in
notes per second), and leaves no note hanging, whether the prime is played detached,
legato with one velocity (as a patch sends it), or in overlapping legato (as a keyboard
player's hand)."""

from __future__ import annotations

import pytest

from liveai.bench.offline_duet import OfflineDuet
from liveai.config import Config
from liveai.data import metrics
from liveai.models import codec
from liveai.models.shipped import find_checkpoint
from liveai.runtime.loading import live_model

# (pitch, start beat, length in beats) at 100 BPM
C_MAJOR = [
    (60, 0, 1),
    (64, 1, 1),
    (67, 2, 1),
    (72, 3, 1),
    (71, 4, 0.5),
    (69, 4.5, 0.5),
    (67, 5, 1),
    (65, 6, 1),
    (64, 7, 0.5),
    (62, 7.5, 0.5),
    (60, 8, 1),
    (62, 9, 1),
    (64, 10, 1),
    (67, 11, 1),
    (60, 12, 2),
]
A_MINOR = [
    (69, 0, 1),
    (72, 1, 1),
    (76, 2, 1),
    (74, 3, 0.5),
    (72, 3.5, 0.5),
    (71, 4, 1),
    (69, 5, 1),
    (68, 6, 1),
    (69, 7, 1),
    (64, 8, 1),
    (69, 9, 1),
    (71, 10, 0.5),
    (72, 10.5, 0.5),
    (71, 11, 1),
    (69, 12, 2),
]
BLUES = [
    (55, 0, 0.5),
    (58, 0.5, 0.5),
    (60, 1, 0.5),
    (61, 1.5, 0.25),
    (62, 1.75, 0.75),
    (58, 2.5, 0.5),
    (55, 3, 1),
    (55, 4, 0.5),
    (58, 4.5, 0.5),
    (60, 5, 0.5),
    (62, 5.5, 0.5),
    (65, 6, 0.5),
    (62, 6.5, 0.5),
    (60, 7, 0.5),
    (58, 7.5, 0.5),
    (55, 8, 2),
]
PRIMES = {"c_major": C_MAJOR, "a_minor": A_MINOR, "g_blues": BLUES}
BEAT = 0.6


@pytest.fixture(scope="module", params=["gru", "transformer"])
def model(request):
    path = find_checkpoint(request.param)
    assert path.exists(), f"the shipped model {path} is missing"
    loaded, _, _ = live_model(path, Config())
    return loaded


# How the prime is played: as before (detached, one velocity), legato with the constant
# velocity a patch sends, and overlapping legato (each note lasts 50 ms into the next).
STYLES = {"detached": (-0.02, 90), "legato_constant": (0.0, 100), "overlapping": (0.05, 100)}


def played(prime, style: str = "detached") -> list[codec.Note]:
    extra, velocity = STYLES[style]
    return [codec.Note(s * BEAT, (s + d) * BEAT + extra, p, velocity) for p, s, d in prime]


def duet_answer(
    model, prime, seed: int, style: str = "detached"
) -> tuple[list[codec.Note], list[codec.Note], OfflineDuet]:
    config = Config()
    config.model.seed = seed
    config.duet.max_response_s = 12.0
    duet = OfflineDuet(model, config)
    notes = played(prime, style)
    end = duet.play(notes, at=0.0)
    duet.advance(end + 20.0)
    return notes, duet.answer_after(end), duet


SEEDS = range(1, 9)


@pytest.mark.parametrize("style", sorted(STYLES))
def test_duet_answer_keeps_key_and_density(model, style):
    """Three primes, 8 fixed seeds each: every answer ends cleanly and is a tune; most
    keep the prime's key exactly (Krumhansl-Schmuckler) and play at a similar density.
    A sampled answer may wander once in a while, as a player's would: real music does
    too (the real continuation of a test piece has its opening's key in 62% of cases,
    see models/README.md), so the bar is the majority of the 24 answers in key and
    three quarters at a density within a factor 2; and no prime may lose either almost
    always (a floor of 2 of its 8: the Transformer answers the blues in C minor or E flat
    major, its neighbours, in 6 of 8 seeds played detached)."""
    same_key = similar_density = 0
    runs: dict[str, list[tuple[int, str, float]]] = {}
    for name, prime_notes in PRIMES.items():
        key_here = density_here = 0
        for seed in SEEDS:
            prime, answer, duet = duet_answer(model, prime_notes, seed=seed, style=style)
            assert duet.sounding() == set(), f"seed {seed}: no answer note may hang"
            assert len(answer) >= 4, f"{name} seed {seed}: the answer is too short ({len(answer)} notes)"
            assert len({n.pitch for n in answer}) >= 4, f"{name} seed {seed}: a tune, not one note repeated"
            figures = metrics.compare(prime, answer)
            ratio = figures["continuation_notes_per_second"] / figures["prime_notes_per_second"]
            key_here += figures["continuation_key"] == figures["prime_key"]
            density_here += 0.5 <= ratio <= 2.0
            runs.setdefault(name, []).append((seed, figures["continuation_key"], round(ratio, 2)))
        assert key_here >= 2 and density_here >= 2, (
            f"{name}: key kept {key_here}/8, density {density_here}/8: {runs[name]}"
        )
        same_key += key_here
        similar_density += density_here
    assert same_key >= 13, f"key kept in {same_key}/24 answers: {runs}"
    assert similar_density >= 18, f"density within a factor 2 in {similar_density}/24 answers: {runs}"


C_MAJOR_PHRASE = [
    (60, 0, 0.5),
    (64, 0.5, 0.5),
    (67, 1, 0.5),
    (72, 1.5, 0.5),
    (71, 2, 0.5),
    (67, 2.5, 0.5),
    (65, 3, 0.5),
    (64, 3.5, 0.5),
    (62, 4, 0.5),
    (60, 4.5, 1.5),
]
D_DORIAN_PHRASE = [
    (62, 0, 0.5),
    (64, 0.5, 0.5),
    (65, 1, 0.5),
    (67, 1.5, 0.5),
    (69, 2, 0.5),
    (71, 2.5, 0.5),
    (72, 3, 0.5),
    (69, 3.5, 0.5),
    (65, 4, 0.5),
    (64, 4.5, 0.5),
    (62, 5, 1.5),
]


def test_an_answer_follows_a_player_who_changes_key(model):
    """A D dorian phrase after a C major one is answered in D dorian: in its notes (B,
    not B flat; no F sharp) and resting on D (Krumhansl-Schmuckler's tonic) in at least
    3 of 8 seeds. Judged on all recent notes alike (duet.key_memory = 1, the first
    duet's way) none was: all in C major, the key of the phrase before."""
    from liveai.music.tonality import estimate_key

    on_d = 0
    for seed in SEEDS:
        config = Config()
        config.model.seed = seed
        duet = OfflineDuet(model, config)
        end = duet.play(played(C_MAJOR_PHRASE), at=0.5)
        duet.advance(end + 10)
        end = duet.play(played(D_DORIAN_PHRASE), at=duet.clock.t + 0.5)
        duet.advance(end + 10)
        answer = duet.answer_after(end)
        assert len(answer) >= 4 and duet.sounding() == set()
        assert {n.pitch % 12 for n in answer} <= {2, 4, 5, 7, 9, 11, 0}, (
            seed,
            sorted(n.pitch for n in answer),
        )
        key = estimate_key(answer)
        on_d += key is not None and key.tonic == 2
    assert on_d >= 3, f"{on_d} of 8 answers rest on D"
