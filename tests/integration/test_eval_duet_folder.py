"""`scripts/eval_duet.py --folder` as the learn figures run it: phrases cut from a folder
of MIDI files on their own beats, a learned model found by name in a model folder, the
figures' JSON printed, a broken file counted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from liveai.data.midi import notes_to_midi
from liveai.models.shipped import find_checkpoint
from liveai.music.note import Note

ROOT = Path(__file__).resolve().parents[2]
FILES, PHRASES = 3, 6
TARGETS = ("same_key", "pace_within_1.5x", "rhythm_similarity")
# a two-bar phrase at 120 BPM (pretty_midi's tempo): a bar of crotchets, a bar of quavers
PHRASE = [(0.5 * i, 0.5, p) for i, p in enumerate([60, 64, 67, 72])] + [
    (2.0 + 0.25 * i, 0.25, p) for i, p in enumerate([71, 67, 65, 64, 62, 59, 62, 60])
]

pytestmark = pytest.mark.slow


def eval_duet(*args: object) -> dict:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts/eval_duet.py"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """FILES tunes, each its two-bar phrase PHRASES times, moved up a tone each file; and
    one file that is not MIDI."""
    root = tmp_path / "mine"
    (root / "sub").mkdir(parents=True)
    for f in range(FILES):
        notes = [
            Note(4.0 * k + t, 4.0 * k + t + 0.9 * d, p + 2 * f, 80)
            for k in range(PHRASES)
            for t, d, p in PHRASE
        ]
        notes_to_midi(notes).write(str(root / ("sub" if f else "") / f"tune{f}.mid"))
    (root / "broken.mid").write_bytes(b"MThd not really")
    return root


def test_a_folder_gives_the_figures_with_a_learned_model_found_by_name(folder: Path, tmp_path: Path):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(find_checkpoint("gru"), models / "mine.pt")  # a "learned" model: the GRU's weights
    common = ("--folder", folder, "--per-file", 2, "--seed", 5, "--model-folder", models)
    mine = eval_duet(*common, "--model", "mine", "--out", tmp_path / "mine.json")
    assert mine["model_path"] == str(models / "mine.pt")
    assert (mine["files"], mine["unreadable"], mine["files_scored"]) == (FILES + 1, 1, FILES)
    assert mine["pairs"] == FILES * 2 and mine["per_file"] == 2
    assert mine["machine"]["cores"] >= 1 and mine["commit"]
    # the real next phrase is the call again: cut on the files' own bar lines, two by two
    real = mine["real next phrase"]
    assert real["pairs"] == FILES * 2
    assert (real["same_key"], real["pace_ratio_median"], real["rhythm_similarity"]) == (1.0, 1.0, 1.0), real
    assert real["on_grid"] == 1.0 and real["profile_vs_real"] == 1.0, real
    for label in ("liveai, same tune before", "liveai, another key before"):
        answer = mine[label]
        assert answer["pairs"] >= 1 and all(0.0 <= answer[k] <= 1.0 for k in TARGETS), answer
    # the same phrases and seeds for every model: the same weights answer alike
    gru = eval_duet(*common, "--model", "gru", "--detail", "--out", tmp_path / "gru.json")
    for label in ("real next phrase", "liveai, same tune before", "liveai, another key before"):
        assert gru[label] == mine[label], label
    # each pair's figures, for a paired before and after
    detail = json.loads((tmp_path / "gru.json").read_text())["detail"]
    assert [r["pair"] for r in detail["real next phrase"]] == list(range(FILES * 2))


def test_an_unknown_model_is_one_clear_line(folder: Path, tmp_path: Path):
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/eval_duet.py"),
            "--folder",
            str(folder),
            "--model",
            "nobody",
            "--model-folder",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode != 0 and "no model 'nobody'" in done.stderr
