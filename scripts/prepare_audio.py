#!/usr/bin/env python
"""Render the synth's training audio: pieces of the continuation corpus played by
FluidSynth through a General MIDI soundfont, as one instrument.

    .venv/bin/python scripts/prepare_audio.py                 # after scripts/prepare_data.py
    .venv/bin/python scripts/prepare_audio.py --train 300 --clip-s 12

For each split (train, val, test: the corpus's own split rule), `--<split>` pieces are
taken in a fixed shuffled order. Training pieces are performed anew (a random style of
liveai.data.performance: tempo, articulation, velocity), so the synth hears the range of
velocities and lengths a player gives it; validation and test pieces use their
canonical rendering. Each is cut to its first `--clip-s` seconds (notes after are
dropped, notes across the end are shortened) and rendered dry (no reverb or chorus).

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
from liveai.data.performance import perform, random_style, restyle  # noqa: E402
from liveai.music.note import Note  # noqa: E402

TAIL_S = 0.5  # rendered after the last note ends: its release


def clip(notes: list[Note], seconds: float) -> list[Note]:
    return [Note(n.start, min(n.end, seconds), n.pitch, n.velocity) for n in notes if n.start < seconds - 0.05]


def notes_of(piece: Piece, split: str, rng: np.random.Generator) -> list[Note]:
    if split != "train":
        return piece.canonical_notes()
    if piece.kind == SCORE:
        return perform(piece.rows, random_style(rng), rng)
    return restyle(piece.canonical_notes(), rng)


def prepare(pieces: list[Piece], split: str, count: int, clip_s: float, sample_rate: int, program: int,
            seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pieces))
    audio, starts, rows, counts, at = [], [], [], [], 0
    bar = tqdm(total=count, desc=f"{split} pieces", unit="piece")
    for i in order:
        if len(starts) == count:
            break
        notes = clip(notes_of(pieces[int(i)], split, rng), clip_s)
        if len(notes) < 4:
            continue
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
    return {"audio": np.concatenate(audio), "starts": np.array(starts, dtype=np.int64),
            "notes": np.concatenate(rows), "note_counts": np.array(counts, dtype=np.int64),
            "sample_rate": np.array(sample_rate), "program": np.array(program)}


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
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"soundfont": str(SOUNDFONT), "soundfont_sha1": hashlib.sha1(SOUNDFONT.read_bytes()).hexdigest(),
            "program": args.program, "sample_rate": args.sample_rate, "clip_s": args.clip_s, "splits": {}}
    for split in ("train", "val", "test"):
        pieces = load_pieces(Path(args.corpus) / f"{split}_pieces.npz")
        data = prepare(pieces, split, getattr(args, split), args.clip_s, args.sample_rate, args.program, args.seed)
        np.savez(out / f"{split}.npz", **data)
        seconds = len(data["audio"]) / args.sample_rate
        meta["splits"][split] = {"clips": len(data["starts"]), "notes": len(data["notes"]), "seconds": round(seconds, 1)}
        print(f"{split}: {len(data['starts'])} clips, {len(data['notes'])} notes, {seconds / 60:.1f} min", flush=True)
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
