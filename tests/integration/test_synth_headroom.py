"""The shipped synth's headroom in the live stream: at the default `audio.gain` (the
stream multiplies the synth's output by it, then clips at full scale), held chords
played hard stay below full scale, so their onsets carry no clipping's grit.

A linear synth sums its voices: struck together at one phase, a chord's onset peaks at
about N times one note's. Its notes start at spread phases, and the gain leaves room."""

from __future__ import annotations

import numpy as np
import pytest

from liveai.audio.harmonics import clipped_share
from liveai.audio.renderer import SynthRenderer, render_notes
from liveai.config import Config
from liveai.music.note import Note
from liveai.runtime.loading import load_synth

GAIN = Config().audio.gain


@pytest.fixture(scope="module")
def net():
    synth, _ = load_synth("synth")
    return synth


@pytest.mark.parametrize(
    "pitches, velocity",
    [
        ((60, 64, 67, 71), 100),  # C major 7th, one hand
        ((48, 52, 55, 59, 60, 64, 67, 71), 110),  # two hands, the same chord doubled an octave down
    ],
)
def test_a_held_chord_played_hard_does_not_clip_at_the_default_gain(net, pitches, velocity) -> None:
    notes = [Note(0.1, 1.6, p, velocity) for p in pitches]
    audio = render_notes(SynthRenderer(net), notes, block=256)  # as the live engine renders: blocks of 256
    assert clipped_share(audio, GAIN) == 0.0, float(np.abs(audio).max() * GAIN)
