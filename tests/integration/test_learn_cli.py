"""`liveai learn` as a user runs it, on a small folder it writes in seconds with tiny
settings; then `liveai serve` plays with what it learned."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from liveai.data.midi import notes_to_midi
from liveai.models.checkpoint import load_checkpoint
from liveai.music.note import Note
from liveai.music.scales import Scale

TINY = [
    "--set",
    "learn.batch_size=2",
    "--set",
    "learn.seq_len=32",
    "--set",
    "learn.eval_every=2",
    "--set",
    'learn.corpus=""',
    "--threads",
    "1",
]
C_MAJOR = Scale("C", "major")


def liveai(*args: object, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "liveai", *map(str, args)], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Five C major tunes (one melody, five touches: a few steps learn it), a text file
    and a file that only says it is MIDI."""
    mine = tmp_path / "my songs"
    mine.mkdir()
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    for k in range(5):
        notes = [Note(i * 0.25, i * 0.25 + 0.2, scale[(i * 3 + k) % 8], 70 + k) for i in range(48)]
        notes_to_midi(notes).write(str(mine / f"tune{k}.mid"))
    (mine / "notes.txt").write_text("setlist")
    (mine / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06 not really")
    return mine


def lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_learn_writes_a_loadable_checkpoint_and_its_card_then_serve_plays_with_it(
    folder: Path, tmp_path: Path, start_server
):
    models = tmp_path / "models"
    done = liveai(
        "learn", folder, "--name", "mine", "--steps", 4, "--progress", "json", "--model-folder", models, *TINY
    )
    assert done.returncode == 0, done.stderr
    records = lines(done.stdout)
    stages = [r["stage"] for r in records]
    assert stages[0] == "reading" and "learning" in stages and stages[-1] == "done"
    learning = [r for r in records if r["stage"] == "learning"]
    assert learning[-1]["step"] == 4 and learning[-1]["steps"] == 4 and learning[-1]["validation_bits"] > 0
    last = records[-1]
    assert last["path"] == str(models / "mine.pt") and last["card"] == str(models / "mine.md")
    assert last["files"] == 5 and last["heldout_files"] >= 2 and last["steps"] == 4
    # five files: three ways, none shared; the card's test files chose nothing
    assert last["validation_files"] >= 1 and last["test_files"] >= 1 and not last["shared"]
    assert last["skipped"] == {"not readable as MIDI": 1, "not a MIDI file (by its name)": 1}
    assert 0 < last["before"]["heldout_bits"] < 10 and 0 < last["after"]["heldout_bits"] < 10
    assert last["before"]["validation_bits"] != last["before"]["heldout_bits"]  # other files
    model, info = load_checkpoint(models / "mine.pt")  # the one loader, weights_only
    assert info["config"]["arch"] == "gru" and info["train_info"]["steps"] == 4
    # the validation files chose the weights kept: their best evaluation is what they score after
    assert info["train_info"]["validation_bits_per_event"] == last["after"]["validation_bits"]
    card = (models / "mine.md").read_text()
    assert "5 files, 240 notes" in card and "Skipped: 2" in card and "the player's test files" in card
    tested = card.split("Test files: ")[1].split(".")[0]
    chose = card.split("Validation files: ")[1].split(". ")[0]
    assert (
        tested.count("`tune") + chose.count("`tune") == last["heldout_files"]
        and "their figure after is unbiased" in card
    )
    assert not set(tested.split(", ")) & set(chose.split(", "))
    assert "no prepared corpus" in card and "L2-SP" in card and "![piano roll](mine.png)" in card
    assert (models / "mine.png").stat().st_size > 1000

    evaluated = liveai("evaluate", folder, "--model", "mine", "--set", f"model.folder={models}")
    assert evaluated.returncode == 0 and json.loads(evaluated.stdout)["model"] == "mine", evaluated.stderr

    _, peer = start_server(
        "harmonize.voices=2",
        "budget.harmonize_ms=250",
        "duet.phrase_gap_ms=300",
        f"model.folder={models}",
        model="mine",
    )
    peer.send("/liveai/note", 60, 100)
    voices = [m for m in peer.collect(0.5) if m[0] == "/liveai/out/note" and m[1][1] > 0]
    assert len(voices) == 2 and all(m[1][0] in C_MAJOR for m in voices)
    peer.send("/liveai/note", 60, 0)
    peer.collect(0.3)
    assert peer.status()["model_mine_steps"] > 0  # the learned model answered, not the rule
    peer.send("/liveai/mode", "duet")
    for pitch in [60, 62, 64, 65, 67]:
        peer.send("/liveai/note", pitch, 90)
        time.sleep(0.1)
        peer.send("/liveai/note", pitch, 0)
    answer = [m for m in peer.collect(3.0) if m[0] == "/liveai/out/note" and m[1][1] > 0]
    assert answer, "the learned model answers the phrase"


def test_ctrl_c_keeps_the_best_so_far_and_still_writes_the_card(folder: Path, tmp_path: Path):
    models = tmp_path / "models"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "liveai",
            "learn",
            str(folder),
            "--name",
            "stopped",
            "--minutes",
            "30",
            "--progress",
            "json",
            "--model-folder",
            str(models),
            *TINY,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if json.loads(line).get("best_step"):  # something learned (else nothing is written)
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "stopping after this step, keeping the best (Ctrl-C again quits now)" in err
    last = json.loads(out.strip().splitlines()[-1])
    assert last["stage"] == "done" and last["stopped_by"] == "signal"
    load_checkpoint(models / "stopped.pt")
    assert "a signal (Ctrl-C or SIGTERM)" in (models / "stopped.md").read_text()


def test_a_stop_keeps_the_weights_before_any_figure_after_and_skips_the_slow_ones(
    folder: Path, tmp_path: Path
):
    """The server gives a stopped child seconds: the checkpoint is written as the
    learning ends ("saved"), before the figures after, and the slow ones are skipped."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "stopped.png").write_bytes(b"\x89PNG an earlier learn's roll")  # the new card has none: removed
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "liveai",
            "learn",
            str(folder),
            "--name",
            "stopped",
            "--minutes",
            "30",
            "--progress",
            "json",
            "--model-folder",
            str(models),
            *TINY,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    stages: list[dict] = []
    for line in proc.stdout:
        stages.append(json.loads(line))
        if stages[-1].get("best_step") and not any(s.get("best_step") for s in stages[:-1]):
            proc.send_signal(signal.SIGTERM)  # as soon as something is learned (else nothing is written)
        if stages[-1]["stage"] == "saved":
            assert (
                models / "stopped.pt"
            ).is_file()  # on disk when it says so, with its card, without the old roll
            load_checkpoint(models / "stopped.pt")
            assert "# stopped: learned by" in (models / "stopped.md").read_text()
            assert not (models / "stopped.png").exists()
    proc.communicate(timeout=120)
    names = [s["stage"] for s in stages]
    assert "saved" in names and names.index("saved") < len(names) - 1 - names[::-1].index("evaluating")
    done = stages[-1]
    assert done["stage"] == "done" and done["stopped_by"] == "signal" and proc.returncode == 0
    assert done["after"]["heldout_bits"] is not None and done["after"]["key_agreement"] is None
    card = (models / "stopped.md").read_text()
    assert (
        "only the bits/event of the player's files after were measured" in card
        and "continuations after were skipped" in card
    )
    assert sorted(p.name for p in models.iterdir()) == ["stopped.md", "stopped.pt"]  # nothing staged left


@pytest.mark.parametrize(
    "case",
    ["empty", "nothing usable", "missing", "a file", "path name", "shipped name", "shipped name in capitals"],
)
def test_bad_input_is_refused_with_one_clear_line_and_exit_2(tmp_path: Path, case: str):
    target, name = tmp_path / "f", "mine"
    target.mkdir()
    said = {
        "empty": "no usable MIDI files",
        "nothing usable": "no usable MIDI files",
        "missing": "my-sogns does not exist",
        "a file": "a.mid is not a folder",
        "path name": "no path",
        "shipped name": "is a shipped model's name",
        "shipped name in capitals": "'GRU' is a shipped model's name",
    }[case]
    if case == "nothing usable":
        (target / "a.mid").write_bytes(b"nope")
        notes_to_midi([]).write(str(target / "silent.mid"))
    elif case == "missing":
        target = tmp_path / "my-sogns"
    elif case != "empty":  # a good folder: only the name is wrong
        notes_to_midi([Note(i * 0.25, i * 0.25 + 0.2, 60 + i % 8, 80) for i in range(32)]).write(
            str(target / "a.mid")
        )
        name = {"path name": "../../outside", "shipped name": "gru", "shipped name in capitals": "GRU"}.get(
            case, name
        )
        target = target / "a.mid" if case == "a file" else target
    done = liveai("learn", target, "--name", name, "--steps", 2, "--model-folder", tmp_path / "models", *TINY)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert said in done.stderr
    assert not (tmp_path / "models").exists() and not (tmp_path.parent / "outside.pt").exists()
