"""`liveai learn` as a new user meets it: an early Ctrl-C, a second one, a model of the
same name already there, copies of a file, a small folder, a model name mistyped."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from liveai.data.midi import notes_to_midi
from liveai.models.shipped import shipped_dir
from liveai.music.note import Note

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
SCALE = [60, 62, 64, 65, 67, 69, 71, 72]
STOPPING = "stopping after this step, keeping the best (Ctrl-C again quits now)"


def liveai(*args: object, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "liveai", *map(str, args)], capture_output=True, text=True, timeout=timeout
    )


def songs(where: Path, count: int) -> Path:
    """`count` tunes of one melody, each started elsewhere in it (a few steps learn it)."""
    where.mkdir()
    for k in range(count):
        notes = [Note(i * 0.25, i * 0.25 + 0.2, SCALE[(i * 3 + k) % 8], 70 + k) for i in range(48)]
        notes_to_midi(notes).write(str(where / f"tune{k}.mid"))
    return where


@pytest.fixture
def earlier(tmp_path: Path) -> dict[str, bytes]:
    """A model `probe` learned before: its three files, as they were."""
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(shipped_dir() / "transformer.pt", models / "probe.pt")
    (models / "probe.md").write_text("# probe: learned by `liveai learn`\n\nthe earlier card\n")
    (models / "probe.png").write_bytes(b"\x89PNG the earlier roll")
    return {p.name: p.read_bytes() for p in models.iterdir()}


def files(tmp_path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (tmp_path / "models").iterdir()}


def test_when_nothing_is_learned_nothing_is_written_and_the_earlier_model_stays(tmp_path: Path, earlier):
    folder = songs(tmp_path / "songs", 5)
    # steps that wreck it: none beats the base
    done = liveai(
        "learn",
        folder,
        "--name",
        "probe",
        "--steps",
        4,
        "--progress",
        "json",
        "--model-folder",
        tmp_path / "models",
        "--set",
        "learn.lr=1.0",
        *TINY,
    )
    assert done.returncode == 1, done.stderr
    assert "liveai: probe exists (learned " in done.stderr and "this learn replaces it" in done.stderr
    assert "nothing learned yet" in done.stderr and "probe unchanged" in done.stderr
    last = json.loads(done.stdout.splitlines()[-1])
    assert last["stage"] == "done" and last["path"] is None and last["best_step"] == 0 and last["unchanged"]
    assert files(tmp_path) == earlier


def ctrl_c_while_reading(tmp_path: Path, twice: bool) -> tuple[subprocess.Popen[str], str, str]:
    folder = songs(tmp_path / "songs", 8)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "liveai",
            "learn",
            str(folder),
            "--name",
            "probe",
            "--minutes",
            "30",
            "--progress",
            "json",
            "--model-folder",
            str(tmp_path / "models"),
            *TINY,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    assert json.loads(first)["stage"] == "reading"
    proc.send_signal(signal.SIGINT)
    heard = ""
    for line in proc.stderr:  # the first is heard (its handler said so) before the second is sent
        heard += line
        if STOPPING in line:
            break
    if twice:
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return proc, first + out, heard + err


def test_a_ctrl_c_before_anything_is_learned_says_so_and_keeps_the_earlier_model(tmp_path: Path, earlier):
    proc, out, err = ctrl_c_while_reading(tmp_path, twice=False)
    assert proc.returncode == 1, err
    assert STOPPING in err and "nothing learned yet" in err and "probe unchanged" in err
    assert "Traceback" not in err and json.loads(out.splitlines()[-1])["stopped_by"] == "signal"
    assert files(tmp_path) == earlier


def test_a_second_ctrl_c_quits_at_once_quietly_with_130_and_the_earlier_files_intact(tmp_path: Path, earlier):
    proc, out, err = ctrl_c_while_reading(tmp_path, twice=True)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err and "liveai: interrupted" in err
    assert '"stage": "done"' not in out
    assert files(tmp_path) == earlier  # nothing staged left either


def test_copies_are_skipped_and_named_and_a_small_set_is_said_to_be_small(tmp_path: Path):
    folder = songs(tmp_path / "songs", 2)
    shutil.copy(folder / "tune0.mid", folder / "zz copy of tune0.mid")
    done = liveai(
        "learn",
        folder,
        "--name",
        "mine",
        "--steps",
        6,
        "--progress",
        "json",
        "--model-folder",
        tmp_path / "models",
        *TINY,
    )
    assert done.returncode == 0, done.stderr
    last = json.loads(done.stdout.splitlines()[-1])
    assert last["files"] == 2 and last["skipped"] == {"duplicates (the same bytes as a file kept)": 1}
    assert "warning: a small learning set (2 files, 96 notes" in done.stderr and last["small"]
    card = (tmp_path / "models" / "mine.md").read_text()
    assert "Skipped: 1 (1 duplicates (the same bytes as a file kept): `zz copy of tune0.mid`)" in card
    assert (
        "- Warning: a small learning set (2 files, 96 notes" in card and "Against forgetting: L2-SP" in card
    )


@pytest.mark.parametrize("command", ["learn", "evaluate", "generate", "serve"])
def test_a_model_name_not_found_is_refused_before_anything_is_read(tmp_path: Path, command: str):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(shipped_dir() / "gru.pt", models / "mine.pt")
    folder = songs(tmp_path / "songs", 3)
    where = ["--set", f"model.folder={models}"]
    args = {
        "learn": ["learn", folder, "--name", "x", "--model", "gruu", "--progress", "json", *where, *TINY],
        "evaluate": ["evaluate", folder, "--model", "gruu", *where],
        "generate": [
            "generate",
            "--prime",
            folder / "tune0.mid",
            "--out",
            tmp_path / "o.mid",
            "--model",
            "gruu",
            *where,
        ],
        "serve": [
            "serve",
            "--set",
            "model.continuation=gruu",
            "--set",
            "osc.port=0",
            "--set",
            "web.enabled=false",
            *where,
        ],
    }[command]
    done = liveai(*args, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1, done.stderr
    line = done.stderr.strip()
    assert (
        f"no model 'gruu' in {models} (mine) nor among the shipped in {shipped_dir()} (gru, transformer)"
        in line
    )
    assert not (models / "x.pt").exists() and not (tmp_path / "o.mid").exists()
