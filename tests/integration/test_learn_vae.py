"""`liveai learn --vae` as a user runs it, on a small folder of DAW-style MIDI files it
writes in seconds with tiny settings; then `liveai serve` plays the learned VAE in morph
mode (model.morph=NAME-vae), over OSC."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import mido
import numpy as np
import pytest
from test_morph_live import LISTEN_PASSES, one_pass, played_pass, ready, timed_onsets

from liveai.behaviours.phrases import read_phrase
from liveai.config import Config
from liveai.config.load import load_config
from liveai.data.grid import NO_GRID
from liveai.data.midi import notes_to_midi
from liveai.models import melody
from liveai.models.checkpoint import load_checkpoint
from liveai.models.shipped import shipped_dir
from liveai.music.note import Note
from liveai.runtime.loading import load_morph

TPQ = 480
TINY = [
    "--set",
    "learn.batch_size=8",
    "--set",
    "learn.seq_len=32",
    "--set",
    "learn.eval_every=5",
    "--set",
    "learn.patience=100",
    "--set",
    "learn.lr=0.015",
    "--set",
    'learn.corpus=""',
    "--threads",
    "1",
]
RISING = [60, 62, 64, 65, 67, 69, 71, 72]
FALLING = [84, 83, 81, 79, 77, 76, 74, 72]


def daw_file(path: Path, pitches: list[int], bpm: float) -> None:
    """A 4/4 file as a DAW exports it: ticks per beat, a tempo, a time signature; a riff of
    dotted eighths and sixteenths, then the same a bar later."""
    track = mido.MidiTrack(
        [
            mido.MetaMessage("time_signature", numerator=4, denominator=4),
            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)),
        ]
    )
    lengths = [3, 1] * 4  # in 16ths: dotted eighth, sixteenth
    for _ in range(8):
        for pitch, steps in zip(pitches, lengths):
            track.append(mido.Message("note_on", note=pitch, velocity=90, time=0))
            track.append(mido.Message("note_off", note=pitch, velocity=0, time=steps * TPQ // 4))
    f = mido.MidiFile(ticks_per_beat=TPQ)
    f.tracks.append(track)
    f.save(str(path))


def liveai(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "liveai", *map(str, args)], capture_output=True, text=True, timeout=300
    )


def test_learn_vae_writes_a_loadable_vae_and_the_morph_plays_it(tmp_path: Path, start_server):
    mine = tmp_path / "songs"
    mine.mkdir()
    for k in range(6):
        daw_file(mine / f"riff{k}.mid", [67 + (k % 3), 64, 62, 60, 62, 64, 67, 72 - k % 2], 90 + 10 * k)
    rng = np.random.default_rng(1)  # a take played without a click: no grid
    starts = np.cumsum(rng.uniform(0.11, 0.43, 60))
    notes_to_midi([Note(t, t + 0.1, 60 + i % 7, 80) for i, t in enumerate(starts)]).write(
        str(mine / "free.mid")
    )
    models = tmp_path / "models"

    done = liveai(
        "learn",
        mine,
        "--name",
        "x",
        "--vae",
        "--steps",
        40,
        "--progress",
        "json",
        "--model-folder",
        models,
        *TINY,
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    vae_steps = [r["step"] for r in records if r["stage"] == "learning" and r.get("model") == "vae"]
    assert (
        vae_steps
        and vae_steps[-1] == 40
        and all(r.get("eta_s") is not None for r in records if r["stage"] == "learning" and r["step"] > 0)
    )
    vae = records[-1]["vae"]
    assert vae["path"] == str(models / "x-vae.pt") and vae["card"] == str(models / "x-vae.md")
    assert vae["files"] == 6 and vae["skipped"] == {NO_GRID: 1} and vae["steps"] == 40
    assert vae["best_step"] > 0, "nothing beat the base: the file is the shipped VAE and this proves nothing"
    assert vae["after"]["held_out"]["elbo_nats"] < vae["before"]["held_out"]["elbo_nats"]
    model, info = load_checkpoint(models / "x-vae.pt", "cpu", archs=("vae",))  # the one loader, weights_only
    assert info["train_info"]["steps"] == 40 and info["config"]["arch"] == "vae"
    card = (models / "x-vae.md").read_text()
    assert "6 files gave" in card and "Skipped for the VAE: 1 (1 no beat grid" in card
    assert f"liveai serve --set model.morph=x-vae --set model.folder={models}" in card

    # what the server must play at 0.5: the learned VAE's middle point, not the shipped one's
    for name, pitches in (("a.mid", RISING), ("b.mid", FALLING)):
        notes_to_midi([Note(i * 0.5, i * 0.5 + 0.4, p, 100) for i, p in enumerate(pitches)]).write(
            str(tmp_path / name)
        )
    a, b = (read_phrase(tmp_path / name, name).tokens for name in ("a.mid", "b.mid"))
    morph = Config().morph

    def middle(config: Config) -> list[int]:
        _, grid = load_morph(config).encode_and_grid({"a": a, "b": b}, morph.steps, morph.lean)
        return grid[(morph.steps - 1) // 2]

    learned = middle(load_config(overrides=["model.morph=x-vae", f"model.folder={models}"]))
    assert learned != middle(Config()), (
        "the learned VAE decodes the middle as the shipped one: this proves nothing"
    )

    _, peer = start_server(
        "clock.bpm=240",
        "clock.source=internal",
        f'morph.folder="{tmp_path}"',
        "model.morph=x-vae",
        f"model.folder={models}",
        model="gru",
    )
    peer.send("/liveai/morph/load", "a", "a.mid")
    ready(peer, "a")
    peer.send("/liveai/morph/load", "b", "b.mid")
    ready(peer, "ab")
    peer.send("/liveai/morph", 0.5)
    peer.send("/liveai/mode", "morph")
    assert peer.expect("/liveai/out/mode") == ["morph"]
    peer.send("/liveai/play")
    step_s = 60 / 240 / melody.STEPS_PER_QUARTER
    heard = timed_onsets(peer, LISTEN_PASSES * melody.STEPS * step_s + 1.0)
    assert played_pass(heard, learned, step_s), (
        f"at 0.5, the learned VAE's {one_pass(learned)}; heard {heard}"
    )
    peer.send("/liveai/stop")
    time.sleep(0.3)
    assert peer.status()["sounding_notes"] == 0


def test_ctrl_c_while_the_vae_learns_keeps_its_best(tmp_path: Path):
    mine = tmp_path / "songs"
    mine.mkdir()
    for k in range(4):
        daw_file(mine / f"riff{k}.mid", [67, 64, 62, 60, 62, 64, 67, 72 - k], 100)
    models = tmp_path / "models"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "liveai",
            "learn",
            str(mine),
            "--name",
            "x",
            "--vae",
            "--minutes",
            "0.3",
            # the continuation model stops at its steps; the VAE is stopped by the signal long
            # before its own (the first one that beats the base comes at step 5-15)
            "--steps",
            "60",
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
        record = json.loads(line)
        # once it beat the base
        if (
            record["stage"] == "learning"
            and record.get("model") == "vae"
            and record["heldout_elbo_nats"] is not None
            and record["heldout_elbo_nats"] == record["best_heldout_elbo_nats"]
        ):
            proc.send_signal(signal.SIGINT)
            break
    else:
        raise AssertionError("the VAE never beat its base within its 60 steps: no signal was sent")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    done = json.loads(out.strip().splitlines()[-1])
    assert done["stage"] == "done" and done["stopped_by"] != "signal", done
    assert done["vae"]["stopped_by"] == "signal", f"the signal came after the VAE's last step: {done['vae']}"
    load_checkpoint(models / "x-vae.pt", "cpu", archs=("vae",))
    assert "stopped by a signal (Ctrl-C or SIGTERM)" in (models / "x-vae.md").read_text()


@pytest.mark.parametrize("case", ["name too long with -vae", "a continuation model learned as NAME-vae"])
def test_a_vae_name_that_cannot_be_written_is_refused_before_anything_is_read(tmp_path: Path, case: str):
    mine = tmp_path / "songs"
    mine.mkdir()
    for k in range(3):
        daw_file(mine / f"riff{k}.mid", [67, 64, 62, 60, 62, 64, 67, 72 - k], 100)
    models = tmp_path / "models"
    models.mkdir()
    name, said = "x" * 62, "at most 60 characters with --vae"
    if case != "name too long with -vae":
        shutil.copy(shipped_dir() / "gru.pt", models / "foo-vae.pt")  # `liveai learn --name foo-vae` made it
        name, said = "foo", "which is not a morph VAE"
    earlier = {p.name: p.read_bytes() for p in models.iterdir()}
    done = liveai(
        "learn",
        mine,
        "--name",
        name,
        "--vae",
        "--steps",
        2,
        "--progress",
        "json",
        "--model-folder",
        models,
        *TINY,
    )
    assert done.returncode == 2, done.stderr
    assert said in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stdout == ""  # refused before the folder was read, let alone learned from
    assert {p.name: p.read_bytes() for p in models.iterdir()} == earlier


def test_when_nothing_beats_the_base_vae_nothing_is_written_and_the_earlier_vae_stays(tmp_path: Path):
    mine = tmp_path / "songs"
    mine.mkdir()
    for k in range(4):
        daw_file(mine / f"riff{k}.mid", [67, 64, 62, 60, 62, 64, 67, 72 - k], 100)
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(shipped_dir() / "vae.pt", models / "x-vae.pt")  # a VAE learned before
    (models / "x-vae.md").write_text("# x-vae: the earlier card\n")
    earlier = {p.name: p.read_bytes() for p in models.iterdir()}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "liveai",
            "learn",
            str(mine),
            "--name",
            "x",
            "--vae",
            "--steps",
            "20",
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
    for line in proc.stdout:  # a Ctrl-C while the base VAE is scored: the VAE learns not one step
        if json.loads(line) == {"stage": "evaluating", "model": "vae base"}:
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err  # the continuation model was learned
    done = json.loads(out.strip().splitlines()[-1])
    assert {p.name: p.read_bytes() for p in models.iterdir() if p.name.startswith("x-vae")} == earlier
    assert "nothing learned yet (stopped before anything beat the base VAE); x-vae unchanged" in err
    assert done["vae"]["unchanged"] and done["vae"]["path"] is None and done["vae"]["best_step"] == 0
    assert not [p.name for p in models.iterdir() if p.name.endswith(".new")]  # nothing staged left
