"""The training scripts, run as a user runs them: prepare a corpus from a MIDI folder,
train both architectures a few steps, resume, and train under torchrun (DDP, two CPU
processes over gloo). Tiny models, real scripts, real checkpoints."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from liveai.data.midi import notes_to_midi
from liveai.models import codec
from liveai.models.checkpoint import load_checkpoint
from liveai.models.synth import SynthConfig, SynthNet
from liveai.music.note import Note

ROOT = Path(__file__).resolve().parents[2]
TINY = {
    "gru": ["--cfg", "hidden=32", "--cfg", "layers=1"],
    "transformer": [
        "--cfg",
        "d_model=32",
        "--cfg",
        "n_layers=2",
        "--cfg",
        "n_heads=2",
        "--cfg",
        "d_ff=64",
        "--cfg",
        "window=16",
    ],
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    midi = root / "midi"
    midi.mkdir()
    rng = random.Random(3)
    for song in range(40):
        t, notes = 0.0, []
        for _ in range(30):
            length = rng.choice([0.25, 0.5])
            notes.append(Note(t, t + length, 60 + rng.choice([0, 2, 4, 5, 7, 9, 11]), 80))
            t += length
        notes_to_midi(notes).write(str(midi / f"song{song}.mid"))
    run(
        [
            ROOT / "scripts" / "prepare_data.py",
            "--midi-dir",
            midi,
            "--out",
            root / "data",
            "--cache",
            root / "cache",
            "--workers",
            "1",
        ]
    )
    return root / "data"


def run(args: list[object], launcher: list[str] | None = None) -> str:
    cmd = [*(launcher or [sys.executable]), *map(str, args)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def train(
    corpus: Path, out: Path, arch: str, steps: int, *extra: str, launcher: list[str] | None = None
) -> str:
    return run(
        [
            ROOT / "scripts" / "train_continuation.py",
            "--arch",
            arch,
            *TINY[arch],
            "--data",
            corpus,
            "--out",
            out,
            "--steps",
            steps,
            "--eval-every",
            3,
            "--log-every",
            1,
            "--batch-size",
            4,
            "--seq-len",
            16,
            "--eval-events",
            200,
            "--warmup",
            2,
            *extra,
        ],
        launcher,
    )


@pytest.mark.parametrize("arch", ["gru", "transformer"])
def test_train_then_resume(corpus: Path, tmp_path: Path, arch: str) -> None:
    train(corpus, tmp_path, arch, 6)
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "val_bits_per_event" in r] == [3, 6]
    # The same model (the same seed) trained at a learning rate of 0 scores what it starts
    # with: six steps of training must lower the validation loss below that.
    train(corpus, tmp_path / "still", arch, 3, "--lr", "0", "--min-lr", "0")
    still = [json.loads(line) for line in (tmp_path / "still" / "log.jsonl").read_text().splitlines()]
    untrained = next(r["val_bits_per_event"] for r in still if "val_bits_per_event" in r)
    trained = [r["val_bits_per_event"] for r in log if "val_bits_per_event" in r]
    assert trained[-1] < untrained, (trained, untrained)
    model, info = load_checkpoint(tmp_path / "best.pt", "cpu")
    assert info["config"]["arch"] == arch and info["vocab"] == codec.describe_vocab()
    assert model.arch == arch and info["train_info"]["best_val_bits_per_event"] > 0
    assert (tmp_path / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    out = train(corpus, tmp_path, arch, 9, "--resume", "auto")
    assert f"resumed {tmp_path / 'last.pt'} at step 6" in out
    _, info = load_checkpoint(tmp_path / "last.pt", "cpu")
    assert info["train_info"]["steps"] == 9

    out = train(corpus, tmp_path / "warm", arch, 3, "--init", str(tmp_path / "best.pt"))  # fine-tune a model
    assert f"initialised from {tmp_path / 'best.pt'}" in out
    _, info = load_checkpoint(tmp_path / "warm" / "last.pt", "cpu")
    assert info["train_info"]["steps"] == 3 and info["train_info"]["initialised_from"] == str(
        tmp_path / "best.pt"
    )


def test_torchrun_trains_with_two_processes(corpus: Path, tmp_path: Path) -> None:
    torchrun = [str(Path(sys.executable).with_name("torchrun")), "--standalone", "--nproc-per-node", "2"]
    out = train(corpus, tmp_path, "gru", 4, launcher=torchrun)
    assert "world 2" in out
    _, info = load_checkpoint(tmp_path / "last.pt", "cpu")
    assert info["train_info"]["world_size"] == 2 and info["train_info"]["steps"] == 4


@pytest.fixture(scope="module")
def scores(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A corpus of scores as prepare_data.py writes them: 4/4 tunes with their beat strengths."""
    import numpy as np

    from liveai.data.corpus import SCORE, Piece, save_pieces

    data = tmp_path_factory.mktemp("scores")
    rng = np.random.default_rng(5)
    for split, count in (("train", 30), ("val", 6), ("test", 6)):
        pieces = []
        for i in range(count):
            rows = [
                (q / 2, 0.5, 1.0 if q % 8 == 0 else 0.25, 60 + int(rng.integers(0, 12))) for q in range(64)
            ]
            pieces.append(Piece(f"{split}{i}#0", SCORE, np.array(rows, np.float64)))
        save_pieces(data / f"{split}_pieces.npz", pieces)
    return data


def train_vae(data: Path, out: Path, steps: int, *extra: str, launcher: list[str] | None = None) -> str:
    return run(
        [
            ROOT / "scripts" / "train_vae.py",
            "--data",
            data,
            "--out",
            out,
            "--steps",
            steps,
            *extra,
            "--eval-every",
            3,
            "--log-every",
            1,
            "--batch-size",
            8,
            "--eval-melodies",
            20,
            "--beta-steps",
            4,
            "--cfg",
            "embed=8",
            "--cfg",
            "encoder_hidden=16",
            "--cfg",
            "latent=8",
            "--cfg",
            "decoder_hidden=16",
        ],
        launcher,
    )


def test_train_vae_then_resume_and_under_torchrun(scores: Path, tmp_path: Path) -> None:
    lr = ("--lr", "1e-2")  # a rate whose learning shows in six steps
    train_vae(scores, tmp_path, 3, *lr)
    assert "resumed" in train_vae(scores, tmp_path, 6, "--resume", "auto", *lr)
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    evals = [r for r in log if "val_elbo_nats" in r]
    assert [r["step"] for r in evals] == [3, 6] and "val_note_accuracy_greedy" in evals[-1]
    model, info = load_checkpoint(tmp_path / "last.pt", "cpu", archs=("vae",))
    assert info["train_info"]["steps"] == 6 and model.config.latent == 8
    assert (tmp_path / "learning_curve.png").stat().st_size > 1000
    # Under torchrun at a learning rate of 0, the same model (the same seed) scores what
    # it starts with: the six steps above must lower the validation loss below that.
    ddp = tmp_path / "ddp"
    train_vae(
        scores,
        ddp,
        3,
        "--lr",
        "0",
        "--min-lr",
        "0",
        launcher=[str(Path(sys.executable).with_name("torchrun")), "--standalone", "--nproc-per-node", "2"],
    )
    _, info = load_checkpoint(ddp / "best.pt", "cpu", archs=("vae",))
    assert info["train_info"]["world_size"] == 2
    untrained = info["train_info"]["val"]["elbo_nats"]
    assert evals[-1]["val_elbo_nats"] < untrained, ([r["val_elbo_nats"] for r in evals], untrained)


def train_synth(audio: Path, out: Path, steps: int, *extra: str, launcher: list[str] | None = None) -> str:
    return run(
        [
            ROOT / "scripts" / "train_synth.py",
            "--data",
            audio,
            "--out",
            out,
            "--steps",
            steps,
            *extra,
            "--eval-every",
            3,
            "--log-every",
            1,
            "--batch-size",
            2,
            "--crop-s",
            0.05,
            "--eval-windows",
            2,
            "--cfg",
            "channels=4",
            "--cfg",
            "skip=4",
        ],
        launcher,
    )


def test_prepare_audio_then_train_synth_resume_and_under_torchrun(scores: Path, tmp_path: Path) -> None:
    """FluidSynth renders the pieces; the synth trains on them, resumes, and runs under DDP."""
    audio = tmp_path / "audio"
    run(
        [
            ROOT / "scripts" / "prepare_audio.py",
            "--corpus",
            scores,
            "--out",
            audio,
            "--train",
            3,
            "--val",
            1,
            "--test",
            1,
            "--clip-s",
            2,
        ]
    )
    meta = json.loads((audio / "meta.json").read_text())
    assert meta["program"] == 4 and meta["splits"]["train"]["clips"] == 3
    # each clip: up to 2 s and the release tail
    assert 3 * 1.5 <= meta["splits"]["train"]["seconds"] <= 3 * 2.5

    # the first synth's form: the fine-tune below grows it
    first = (
        "--cfg",
        "features=4",
        "--cfg",
        "linear=0",
    )
    # Three steps at a learning rate of 0 leave it as it started: its score at step 3 is
    # the untrained one, and the two steps resumed at a rate that shows must lower it.
    train_synth(audio, tmp_path / "run", 3, *first, "--lr", "0", "--min-lr", "0")
    assert "resumed" in train_synth(audio, tmp_path / "run", 5, "--resume", "auto", "--lr", "2e-2")
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    evals = [r for r in log if "val_mrstft" in r]
    assert [r["step"] for r in evals] == [3, 5]
    assert evals[1]["val_mrstft"] < evals[0]["val_mrstft"], evals
    model, info = load_checkpoint(tmp_path / "run" / "last.pt", "cpu", archs=("synth",))
    assert info["train_info"]["steps"] == 5 and model.config.channels == 4
    train_synth(
        audio,
        tmp_path / "ddp",
        2,
        launcher=[str(Path(sys.executable).with_name("torchrun")), "--standalone", "--nproc-per-node", "2"],
    )
    fresh, info = load_checkpoint(tmp_path / "ddp" / "last.pt", "cpu", archs=("synth",))
    assert info["train_info"]["world_size"] == 2
    assert fresh.config.linear and fresh.config.features == 7  # a fresh synth is the linear form

    # Fine-tuned with the channels that hear each note's age: it starts from the first
    # synth's weights and sounds as it did until it learns to use them.
    said = train_synth(
        audio, tmp_path / "aged", 3, "--init", tmp_path / "run" / "last.pt", "--cfg", "features=7"
    )
    assert "4 -> 7 features" in said
    aged, info = load_checkpoint(tmp_path / "aged" / "last.pt", "cpu", archs=("synth",))
    assert aged.config.features == 7 and aged.inp.weight.shape[1] == 7
    assert "features=7" in info["train_info"]["args"]["cfg"]  # how it was made, kept with it
    sys.path.insert(0, str(ROOT / "scripts"))
    from train_synth import grow_into

    grown = SynthNet(SynthConfig(channels=4, skip=4, features=7))
    grow_into(grown, model.state_dict())
    features = torch.randn(1, 7, 3000)
    handed = SynthNet(SynthConfig(channels=4, skip=4, features=7))
    grow_into(handed, model.state_dict(), [(0, 4)])  # the decaying excitation heard where the first one was
    with torch.no_grad():
        assert torch.allclose(grown(features), model(features[:, :4]), atol=1e-6)
        assert torch.allclose(handed(features), model(features[:, [4, 1, 2, 3]]), atol=1e-6)


def test_train_harmony_alone_and_under_torchrun(tmp_path: Path) -> None:
    import numpy as np

    from liveai.data.harmony import HarmonyPiece, save

    rng = np.random.default_rng(0)
    data = tmp_path / "harmony"
    data.mkdir()
    for source in ("chorales", "pop909"):
        for split in ("train", "val"):
            pieces = []
            for i in range(6):
                melody = 67 + rng.choice([0, 2, 4, 5, 7], 24)
                real = np.full((24, 6), -1)
                real[:, :3] = melody[:, None] - np.array([16, 12, 9])  # a triad under each note
                pieces.append(
                    HarmonyPiece(f"{source}/{split}{i}#0", 0, False, melody, np.arange(24) / 2, real)
                )
            save(data / f"{source}_{split}.npz", pieces)
    tiny = [
        "--data",
        data,
        "--hidden",
        16,
        "--steps",
        4,
        "--eval-every",
        2,
        "--batch-size",
        4,
        "--seq-len",
        8,
    ]
    run([ROOT / "scripts" / "train_harmony.py", *tiny, "--out", tmp_path / "run"])
    # Under torchrun at a learning rate of 0, the same model (the same seed) scores what
    # it starts with: the four steps above must lower the validation loss below that.
    run(
        [ROOT / "scripts" / "train_harmony.py", *tiny, "--lr", 0, "--out", tmp_path / "ddp"],
        launcher=[str(Path(sys.executable).with_name("torchrun")), "--standalone", "--nproc-per-node", "2"],
    )
    for out in ("run", "ddp"):
        model, info = load_checkpoint(tmp_path / out / "best.pt", archs=("harmony",))
        assert model.config.voicings and info["train_info"]["steps"] in (2, 4)
        assert (tmp_path / out / "learning_curve.png").exists()
    logs = {out: (tmp_path / out / "log.jsonl").read_text().splitlines() for out in ("run", "ddp")}
    nll = {
        out: [r["val_nll"] for r in map(json.loads, lines) if "val_nll" in r] for out, lines in logs.items()
    }
    assert nll["run"][-1] < nll["ddp"][0], nll
