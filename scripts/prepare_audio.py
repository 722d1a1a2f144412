#!/usr/bin/env python
"""Render the synth's training audio: pieces of the continuation corpus played by
FluidSynth through a General MIDI soundfont, as one instrument.

    .venv/bin/python scripts/prepare_audio.py                 # after scripts/prepare_data.py
    .venv/bin/python scripts/prepare_audio.py --train 300 --clip-s 12
    .venv/bin/python scripts/prepare_audio.py --chords 60     # and 60 clips of held chords
    .venv/bin/python scripts/prepare_audio.py --midi ../shared/data/pop909   # another source

For each split (train, val, test: the corpus's own split rule), `--<split>` pieces are
taken in a fixed shuffled order. Training pieces are performed anew (a random style of
liveai.data.performance: tempo, articulation, velocity), so the synth hears the range of
velocities and lengths a player gives it; validation and test pieces use their
canonical rendering. Each is cut to its first `--clip-s` seconds (notes after are
dropped, notes across the end are shortened) and rendered dry (no reverb or chorus).

`--chords N` adds N training clips of held chords (the network must hear chords
to play them cleanly): random triads, sevenths, clusters, dyads and octaves in any
inversion from A1 to C7, held 0.3 to 3 s, sometimes rolled, sometimes with a melody note
over them, at random velocities. `--midi DIR` takes the pieces from a folder of MIDI
files instead of the corpus (each file one piece, played as written, from its first
note; the split by the corpus's rule on "<folder name>/<file name>").

Writes <out>/<split>.npz: `audio` (int16, all clips end to end), `starts` (each clip's
first sample), `notes` (start s, end s, pitch, velocity per note, in clip time),
`note_counts`, and `sample_rate`, `program`; and <out>/meta.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tqdm import tqdm  # noqa: E402

from liveai.data.audio import PROGRAM, SOUNDFONT, fluidsynth_render  # noqa: E402
from liveai.data.corpus import SCORE, Piece, load_pieces  # noqa: E402
from liveai.data.midi import midi_files, read_notes  # noqa: E402
from liveai.data.performance import perform, random_style, restyle  # noqa: E402
from liveai.data.shards import split_of  # noqa: E402
from liveai.music.note import Note  # noqa: E402

TAIL_S = 0.5  # rendered after the last note ends: its release


def clip(notes: list[Note], seconds: float) -> list[Note]:
    return [
        Note(n.start, min(n.end, seconds), n.pitch, n.velocity) for n in notes if n.start < seconds - 0.05
    ]


def notes_of(piece: Piece | list[Note], split: str, rng: np.random.Generator) -> list[Note]:
    if isinstance(piece, list):  # a MIDI file's notes, from its first
        first = min((n.start for n in piece), default=0.0) - 0.1
        notes = [Note(n.start - first, n.end - first, n.pitch, n.velocity) for n in piece]
        return restyle(notes, rng) if split == "train" else notes
    if split != "train":
        return piece.canonical_notes()
    if piece.kind == SCORE:
        return perform(piece.rows, random_style(rng), rng)
    return restyle(piece.canonical_notes(), rng)


CHORD_SHAPES = (
    (0, 4, 7),
    (0, 3, 7),
    (0, 3, 6),
    (0, 4, 8),
    (0, 4, 7, 10),
    (0, 4, 7, 11),
    (0, 3, 7, 10),
    (0, 1, 2),
    (0, 2, 4),
    (0, 1, 3, 5),
    (0, 7),
    (0, 4),
    (0, 3),
    (0, 5),
    (0, 12),
    (0, 7, 12, 16),
    (0,),
)


def chord_clip(seconds: float, rng: np.random.Generator) -> list[Note]:
    """Random held chords, one after another (sometimes overlapping), for `seconds`."""
    notes: list[Note] = []
    t = 0.05
    while t < seconds - 0.3:
        shape = np.array(CHORD_SHAPES[int(rng.integers(len(CHORD_SHAPES)))])
        inversion = int(rng.integers(len(shape)))
        shape = np.sort(np.concatenate([shape[inversion:], shape[:inversion] + 12]))
        root = int(rng.integers(33, 97 - int(shape.max())))
        hold = float(rng.uniform(0.3, 3.0))
        velocity = int(rng.integers(35, 125))
        roll = float(rng.choice([0.0, 0.0, rng.uniform(0.01, 0.08)]))
        for i, p in enumerate(root + shape):
            start = t + i * roll
            notes.append(
                Note(
                    start,
                    min(t + hold, seconds),
                    int(p),
                    int(np.clip(velocity + rng.integers(-8, 9), 1, 127)),
                )
            )
        if rng.random() < 0.3:  # a melody note over it
            top = int(min(root + shape.max() + rng.integers(3, 13), 100))
            start = t + float(rng.uniform(0.1, hold))
            notes.append(Note(start, min(start + float(rng.uniform(0.2, 1.0)), seconds), top, velocity))
        t += hold + float(rng.choice([rng.uniform(-0.2, 0.0), rng.uniform(0.0, 0.6)]))
    return [n for n in notes if n.end - n.start > 0.05]


def prepare(
    pieces: list[Piece] | list[list[Note]],
    split: str,
    count: int,
    clip_s: float,
    sample_rate: int,
    program: int,
    seed: int,
    chords: int = 0,
) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pieces))
    audio, starts, rows, counts, at = [], [], [], [], 0
    bar = tqdm(total=count + chords, desc=f"{split} pieces", unit="piece")
    chord_rng = np.random.default_rng(seed + 1)
    sources = [
        *(lambda i=i: notes_of(pieces[int(i)], split, rng) for i in order),
        *(lambda: chord_clip(clip_s, chord_rng) for _ in range(chords)),
    ]
    made = 0
    for j, source in enumerate(sources):
        if made == count and j < len(order):
            continue  # enough pieces: on to the chords
        notes = clip(source(), clip_s)
        if len(notes) < 4:
            continue
        made += j < len(order)
        length = round((max(n.end for n in notes) + TAIL_S) * sample_rate)
        sound = fluidsynth_render(notes, sample_rate, program=program)[:length]
        sound = np.pad(sound, (0, length - len(sound)))
        audio.append((np.clip(sound, -1, 1) * 32767).round().astype(np.int16))
        starts.append(at)
        at += length
        rows.append(np.array([(n.start, n.end, n.pitch, n.velocity) for n in notes], dtype=np.float64))
        counts.append(len(notes))
        bar.update(1)
    bar.close()
    return {
        "audio": np.concatenate(audio),
        "starts": np.array(starts, dtype=np.int64),
        "notes": np.concatenate(rows),
        "note_counts": np.array(counts, dtype=np.int64),
        "sample_rate": np.array(sample_rate),
        "program": np.array(program),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(ROOT / "data" / "corpus"))
    ap.add_argument("--out", default=str(ROOT / "data" / "audio"))
    ap.add_argument("--train", type=int, default=300)
    ap.add_argument("--val", type=int, default=20)
    ap.add_argument("--test", type=int, default=40)
    ap.add_argument("--clip-s", type=float, default=12.0)
    ap.add_argument("--sample-rate", type=int, default=48_000)
    ap.add_argument("--program", type=int, default=PROGRAM)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chords", type=int, default=0, help="clips of held chords added to the train split")
    ap.add_argument("--midi", help="a folder of MIDI files to take the pieces from, instead of --corpus")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "soundfont": str(SOUNDFONT),
        "soundfont_sha1": hashlib.sha1(SOUNDFONT.read_bytes()).hexdigest(),
        "program": args.program,
        "sample_rate": args.sample_rate,
        "clip_s": args.clip_s,
        "splits": {},
    }
    if args.midi:
        meta["midi"] = str(args.midi)
        files = midi_files(Path(args.midi))
        by_split: dict[str, list[list[Note]]] = {"train": [], "val": [], "test": []}
        for path in tqdm(files, desc="read midi", unit="file"):
            by_split[split_of(f"{Path(args.midi).name}/{path.name}")].append(read_notes(path, sustain=True))
    meta["chords"] = args.chords
    for split in ("train", "val", "test"):
        pieces = by_split[split] if args.midi else load_pieces(Path(args.corpus) / f"{split}_pieces.npz")
        data = prepare(
            pieces,
            split,
            getattr(args, split),
            args.clip_s,
            args.sample_rate,
            args.program,
            args.seed,
            args.chords if split == "train" else 0,
        )
        np.savez(out / f"{split}.npz", **data)
        seconds = len(data["audio"]) / args.sample_rate
        meta["splits"][split] = {
            "clips": len(data["starts"]),
            "notes": len(data["notes"]),
            "seconds": round(seconds, 1),
        }
        print(
            f"{split}: {len(data['starts'])} clips, {len(data['notes'])} notes, {seconds / 60:.1f} min",
            flush=True,
        )
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
