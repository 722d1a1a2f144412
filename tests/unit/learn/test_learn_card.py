"""The card of a learned model is written whatever is missing: matplotlib, the corpus."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from liveai.learn.card import piano_roll, write_card
from liveai.music.note import Note

FIGURES = {
    "heldout_bits": 3.0,
    "corpus_bits": None,
    "phrases": 1,
    "key_agreement": 1.0,
    "pitch_class_correlation": 0.8,
    "pace_ratio_median": 1.1,
    "pace_within_1_5x": 1.0,
}


def facts(tmp_path: Path, **changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "mine",
        "base": "gru",
        "arch": "gru",
        "folder": "/songs",
        "date": "today",
        "files": 5,
        "notes": 240,
        "train_files": 3,
        "validation_files": ["b.mid"],
        "test_files": ["c.mid"],
        "split_note": "",
        "shared": False,
        "skipped_total": 2,
        "skipped_text": "1 no notes, 1 not a MIDI file (by its name)",
        "steps": 4,
        "batch_size": 2,
        "seq_len": 32,
        "minutes": 0.1,
        "device": "cpu",
        "threads": 1,
        "stopped_by": "the steps asked",
        "best_step": 4,
        "forgetting": "L2-SP toward the base weights (strength 0.01)",
        "before": FIGURES,
        "after": {**FIGURES, "heldout_bits": 2.4},
        "test_events": 100,
        "validation_events": 90,
        "corpus_events": 0,
        "corpus": "no prepared corpus at 'data/corpus' (it is not on a player's machine): forgetting not "
        "measured",
        "roll": "",
        "roll_note": "",
        "path": str(tmp_path / "mine.pt"),
    }
    return {**base, **changes}


def test_without_matplotlib_the_card_says_so_and_is_still_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    notes = [Note(0.0, 0.5, 60, 80)]
    why = piano_roll(tmp_path / "mine.png", notes, notes, notes, "t")
    assert "matplotlib is not installed" in why and not (tmp_path / "mine.png").exists()
    write_card(tmp_path / "mine.md", facts(tmp_path, roll_note=why))
    card = (tmp_path / "mine.md").read_text()
    assert "matplotlib is not installed" in card and "![piano roll]" not in card
    assert "| 3.0 | 2.4 | -20.0 % |" in card and "forgetting not measured" in card
    assert "5 files, 240 notes, split by file" in card and "Skipped: 2 (1 no notes" in card
    assert (
        "3 learned from, 1 validation (chose the checkpoint kept and when to stop), 1 test (scored this card)"
        in card
    )
    assert (
        "Test files: `c.mid`. Validation files: `b.mid`." in card and "their figure after is unbiased" in card
    )


def test_the_card_names_the_files_that_scored_it_and_says_when_they_were_shared(tmp_path: Path):
    write_card(
        tmp_path / "mine.md",
        facts(
            tmp_path,
            files=2,
            train_files=1,
            validation_files=["b.mid"],
            test_files=["b.mid"],
            shared=True,
            split_note="only 2 files: the one held out is both validation and test",
        ),
    )
    card = (tmp_path / "mine.md").read_text()
    assert "1 test (scored this card); only 2 files: the one held out is both validation and test" in card
    assert "Test files: `b.mid`" in card and "their figure after is optimistic" in card and "unbiased" in card
    many = [f"t{i}.mid" for i in range(11)]
    write_card(tmp_path / "many.md", facts(tmp_path, test_files=many))
    assert "`t7.mid` and 3 more" in (tmp_path / "many.md").read_text()


def test_with_matplotlib_the_card_shows_the_piano_roll(tmp_path: Path):
    notes = [Note(i * 0.5, i * 0.5 + 0.4, 60 + i, 80) for i in range(8)]
    assert piano_roll(tmp_path / "mine.png", notes, notes, notes, "t") == ""
    assert (tmp_path / "mine.png").stat().st_size > 1000
    write_card(tmp_path / "mine.md", facts(tmp_path, roll="mine.png"))
    assert "![piano roll](mine.png)" in (tmp_path / "mine.md").read_text()


def test_a_small_set_is_warned_about_on_the_card_and_forgetting_is_not_overclaimed(tmp_path: Path):
    write_card(tmp_path / "mine.md", facts(tmp_path, small="a small learning set (2 files, 96 notes)"))
    card = (tmp_path / "mine.md").read_text()
    assert "- Warning: a small learning set (2 files, 96 notes)." in card
    assert "- Against forgetting: L2-SP" in card and "No forgetting" not in card
    write_card(tmp_path / "mine.md", facts(tmp_path, small=""))
    assert "Warning" not in (tmp_path / "mine.md").read_text()
