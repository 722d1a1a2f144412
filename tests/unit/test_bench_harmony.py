"""The harmony card's figures count the notes the rule voiced for the harmony model
(no allowed voicing), so "every note got an allowed voicing" is a measurement."""

from __future__ import annotations

import numpy as np
from fakes import tiny_harmony

from liveai.bench import harmony as bench
from liveai.data.harmony import HarmonyPiece


def piece(melody: list[int]) -> HarmonyPiece:
    n = len(melody)
    return HarmonyPiece("p", 0, False, np.array(melody), np.arange(n, dtype=float), np.full((n, 3), -1))


def test_score_counts_the_rules_fallbacks_for_the_model():
    # one voicing, a fifth under: under F5 and F4 it is Bb, out of C major, and the rule answers
    harmonize = bench.with_model(tiny_harmony(voicings=((7,),)))
    pieces = [piece([72, 65, 67, 71, 77]), piece([72, 76, 79])]
    figures = bench.score(pieces, [harmonize(p, 1) for p in pieces])
    assert figures["chords"] == 8 and figures["rule_fallbacks"] == 2
    # the rule harmonizer itself is no fallback
    assert bench.score(pieces, [bench.rule(p, 1) for p in pieces])["rule_fallbacks"] == 0
