"""The shipped synth, as liveai plays it: its own output has no click where a note ends
or is stolen (the excitation's envelopes are click-free, tests/unit/audio/test_voices.py,
and so must be what the network makes of them); a held note dies away, the higher the
sooner, as the card says. (The network smooths its input over ~20 ms: even a voice cut
dead in its input, which the excitation's bound catches, does not make its output
jump, so the excitation is where a cut is tested.)"""

from __future__ import annotations

import numpy as np
import pytest

from liveai.audio.features import LIVEAI
from liveai.audio.renderer import SynthRenderer
from liveai.runtime.loading import load_synth

SR = 48_000


@pytest.fixture(scope="module")
def net():
    synth, _ = load_synth("synth")
    return synth


def rendered(net, events: list[tuple[int, int, int]], length: int, polyphony: int = 16) -> np.ndarray:
    """The synth's output for (sample, pitch, velocity) events, as the live engine
    renders it: blocks of 256 samples, events at their samples."""
    renderer = SynthRenderer(net, polyphony=polyphony)
    out, pending = [], sorted(events)
    for start in range(0, length, 256):
        inside = [(s - start, p, v, LIVEAI) for s, p, v in pending if start <= s < start + 256]
        out.append(renderer.render(256, inside))
    return np.concatenate(out)[:length]


def largest_step(audio: np.ndarray, at: int, around: int = SR // 50) -> float:
    """The largest sample-to-sample jump within 20 ms after `at`."""
    return float(np.abs(np.diff(audio[at:at + around])).max())


def test_no_click_where_a_note_ends_or_is_stolen(net) -> None:
    """A note-off, and a third note stealing the older of two voices, jump no more than
    the same third note struck on a free voice: the largest steps are the music's own."""
    held = [(0, 57, 100), (2400, 64, 100)]
    free = rendered(net, held + [(SR // 2, 69, 100)], SR)  # three voices: nothing stolen
    stolen = rendered(net, held + [(SR // 2, 69, 100)], SR, polyphony=2)  # the A3 fades into a ghost
    ended = rendered(net, held + [(SR // 2, 57, 0)], SR)  # the A3 released instead
    onset = largest_step(free, SR // 2)
    assert largest_step(stolen, SR // 2) <= 1.1 * onset, (largest_step(stolen, SR // 2), onset)
    steady = float(np.abs(np.diff(free[SR // 4: SR // 2])).max())  # two voices, held
    assert largest_step(ended, SR // 2) <= 1.1 * steady, (largest_step(ended, SR // 2), steady)


def test_a_held_note_dies_away_the_higher_the_sooner(net) -> None:
    def fall_db(pitch: int) -> float:  # level 1.5 s after the onset against 0.1 s, dB
        audio = rendered(net, [(0, pitch, 100)], 2 * SR)
        early, late = audio[SR // 10: SR // 10 + 2400], audio[3 * SR // 2: 3 * SR // 2 + 2400]
        return float(10 * np.log10(np.mean(late ** 2) / np.mean(early ** 2)))

    falls = [fall_db(p) for p in (48, 60, 72, 84)]
    assert falls[0] > falls[1] > falls[2] > falls[3] and falls[3] < -15 and falls[0] > -6, falls  # a low note holds
