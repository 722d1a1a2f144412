#!/usr/bin/env python
"""Turn the music21 corpus (or a folder of MIDI files) into token shards.

    .venv/bin/python scripts/prepare_data.py                       # default collections
    .venv/bin/python scripts/prepare_data.py --midi-dir ~/midi --out data/mymidi

Parsing is slow (music21), so each file is parsed in a pool of `--workers` processes
and its rendered notes are cached under `--cache`; a rerun only tokenises.
Output: data/corpus/{train,val,test}.npy + *_offsets.npy + meta.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import multiprocessing as mp
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from liveai.data.corpus import DEFAULT_BPM, Piece, cache_key, load_pieces, parse_to_cache  # noqa: E402
from liveai.data.midi import midi_files  # noqa: E402
from liveai.data.shards import SPLITS, build_split, save_split, split_of  # noqa: E402
from liveai.models import codec  # noqa: E402

# Palestrina is left out by default: its Humdrum encodings (c) John Miller 2000 say
# "Rights to all derivative electronic formats reserved" (see models/README.md).
DEFAULT_COLLECTIONS = ["bach", "essenFolksong", "oneills1850", "ryansMammoth"]


def list_sources(args: argparse.Namespace) -> list[tuple[Path, str]]:
    """(path, relative id) of every input file."""
    out: list[tuple[Path, str]] = []
    if args.midi_dir:
        root = Path(args.midi_dir).expanduser().resolve()
        return [(p, "midi/" + p.relative_to(root).as_posix()) for p in midi_files(root)]
    from music21 import corpus

    corpus_root = Path(corpus.__file__).resolve().parent
    for name in args.collections:
        paths = corpus.getComposer(name)
        if not paths:
            raise SystemExit(f"prepare_data: music21 corpus has no collection {name!r}")
        for p in sorted(Path(x) for x in paths):
            out.append((p, p.resolve().relative_to(corpus_root).as_posix()))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--collections", nargs="+", default=DEFAULT_COLLECTIONS)
    ap.add_argument("--midi-dir", help="use every .mid/.midi under this folder instead of music21")
    ap.add_argument("--out", default=str(ROOT / "data" / "corpus"))
    ap.add_argument("--cache", default=str(ROOT / "data" / "cache"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--bpm", type=float, default=DEFAULT_BPM, help="rendering tempo (quarter notes)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N files (smoke tests)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    sources = list_sources(args)
    if args.limit:
        sources = sources[: args.limit]
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    jobs = []
    for path, rel in sources:
        cf = cache / f"{cache_key(path, rel, args.bpm)}.npz"
        if not cf.exists():
            jobs.append((path, rel, args.bpm, cf))
    print(f"{len(sources)} files, {len(sources) - len(jobs)} cached, parsing {len(jobs)}", flush=True)
    # Big files first so the two workers finish together.
    jobs.sort(key=lambda j: -j[0].stat().st_size)
    t0 = time.time()
    if jobs:
        with contextlib.ExitStack() as stack:
            if args.workers > 1:
                pool = stack.enter_context(mp.get_context("spawn").Pool(args.workers, maxtasksperchild=50))
                results = pool.imap_unordered(parse_to_cache, jobs)
            else:
                results = map(parse_to_cache, jobs)
            for i, (rel, n, dt) in enumerate(results, 1):
                if i % 25 == 0 or dt > 20:
                    print(f"[{i}/{len(jobs)}] {rel}: {n} pieces in {dt:.1f}s ({time.time() - t0:.0f}s)", flush=True)

    by_split: dict[str, list[list[int]]] = {s: [] for s in SPLITS}
    per_collection: dict[str, dict[str, int]] = {}
    n_notes = 0
    for path, rel in sources:
        pieces: list[Piece] = load_pieces(cache / f"{cache_key(path, rel, args.bpm)}.npz")
        coll = rel.split("/", 1)[0]
        stats = per_collection.setdefault(coll, {"files": 0, "pieces": 0})
        stats["files"] += 1
        for piece in pieces:
            toks = codec.encode_notes(piece.notes, start_token=True)
            if len(toks) < 8:
                continue
            by_split[split_of(piece.rel_id)].append(toks)
            stats["pieces"] += 1
            n_notes += len(piece.notes)

    out = Path(args.out)
    meta: dict[str, object] = {
        "source": "midi:" + str(args.midi_dir) if args.midi_dir else "music21:" + ",".join(args.collections),
        "collections": per_collection,
        "bpm": args.bpm,
        "vocab": codec.describe_vocab(),
        "notes": n_notes,
        "splits": {},
        "split_rule": "sha1(rel_id) % 10: 0 test, 1 val, else train; rel_id = path-in-corpus#tune-index",
    }
    for split in SPLITS:
        data = build_split(by_split[split])
        save_split(out, split, data)
        meta["splits"][split] = {"pieces": data.n_pieces, "tokens": int(len(data.tokens))}  # type: ignore[index]
        print(f"{split}: {data.n_pieces} pieces, {len(data.tokens)} tokens", flush=True)
    (out / "meta.json").write_text(json.dumps(meta, indent=2))
    print(f"wrote {out} in {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
