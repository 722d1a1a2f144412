#!/usr/bin/env python
"""Turn the music21 corpus and POP909 (or a folder of MIDI files) into training data.

    .venv/bin/python scripts/prepare_data.py                         # music21 collections + POP909
    .venv/bin/python scripts/prepare_data.py --collections bach pop909
    .venv/bin/python scripts/prepare_data.py --midi-dir ~/midi --out data/mymidi

Parsing is slow (music21), so each file is parsed in a pool of `--workers` processes
and its pieces are cached under `--cache`; a rerun only tokenises. Each split gets:

- `<split>_pieces.npz`: the pieces as written (scores in quarter notes, played MIDI in
  seconds); training performs them anew for every window (liveai.data.performance);
- `<split>.npy` + `<split>_offsets.npy`: their canonical tokens (scores rendered at
  100 BPM as the first models were trained, played MIDI as played), which validation,
  the test figures and the n-gram baseline use;

and `meta.json` says what went in. Split: sha1(piece id) % 10 = 0 test, 1 val, else train.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import multiprocessing as mp
import sys
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from liveai.data.corpus import Piece, cache_key, load_pieces, parse_to_cache, save_pieces  # noqa: E402
from liveai.data.midi import midi_files  # noqa: E402
from liveai.data.shards import SPLITS, build_split, save_split, split_of  # noqa: E402
from liveai.models import codec  # noqa: E402

# Palestrina is left out by default: its Humdrum encodings (c) John Miller 2000 say
# "Rights to all derivative electronic formats reserved" (see models/README.md).
MUSIC21_COLLECTIONS = ["bach", "essenFolksong", "oneills1850", "ryansMammoth"]
POP909 = "pop909"
DEFAULT_POP909 = ROOT.parent / "shared" / "data" / "pop909"


def list_sources(args: argparse.Namespace) -> list[tuple[Path, str]]:
    """(path, relative id) of every input file."""
    if args.midi_dir:
        root = Path(args.midi_dir).expanduser().resolve()
        return [(p, "midi/" + p.relative_to(root).as_posix()) for p in midi_files(root)]
    out: list[tuple[Path, str]] = []
    if POP909 in args.collections:
        folder = Path(args.pop909).expanduser()
        files = midi_files(folder) if folder.is_dir() else []
        if not files:
            raise SystemExit(f"prepare_data: no POP909 MIDI files in {folder} (--pop909 DIR)")
        out += [(p, f"{POP909}/{p.name}") for p in files]
    names = [c for c in args.collections if c != POP909]
    if names:
        from music21 import corpus

        corpus_root = Path(corpus.__file__).resolve().parent
        for name in names:
            paths = corpus.getComposer(name)
            if not paths:
                raise SystemExit(f"prepare_data: music21 corpus has no collection {name!r}")
            out += [
                (p, p.resolve().relative_to(corpus_root).as_posix()) for p in sorted(Path(x) for x in paths)
            ]
    return out


def parse_all(sources: list[tuple[Path, str]], cache: Path, workers: int) -> None:
    """Parse what is not cached yet, with a progress bar."""
    jobs = [(path, rel, cache / f"{cache_key(path, rel)}.npz") for path, rel in sources]
    jobs = [j for j in jobs if not j[2].exists()]
    print(f"{len(sources)} files, {len(sources) - len(jobs)} cached, parsing {len(jobs)}", flush=True)
    jobs.sort(key=lambda j: -j[0].stat().st_size)  # big files first so the workers finish together
    with contextlib.ExitStack() as stack:
        if workers > 1 and len(jobs) > 1:
            pool = stack.enter_context(mp.get_context("spawn").Pool(workers, maxtasksperchild=50))
            results = pool.imap_unordered(parse_to_cache, jobs)
        else:
            results = map(parse_to_cache, jobs)
        for _ in tqdm(results, total=len(jobs), desc="parse", unit="file", smoothing=0.05):
            pass


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--collections",
        nargs="+",
        default=[*MUSIC21_COLLECTIONS, POP909],
        help=f"music21 collections and/or {POP909}",
    )
    ap.add_argument("--pop909", default=str(DEFAULT_POP909), help="the folder of POP909's MIDI files")
    ap.add_argument("--midi-dir", help="use every .mid/.midi under this folder instead")
    ap.add_argument("--out", default=str(ROOT / "data" / "corpus"))
    ap.add_argument("--cache", default=str(ROOT / "data" / "cache"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="only the first N files (smoke tests)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    sources = list_sources(args)
    if args.limit:
        sources = sources[: args.limit]
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    parse_all(sources, cache, args.workers)

    pieces: dict[str, list[Piece]] = {s: [] for s in SPLITS}
    tokens: dict[str, list[list[int]]] = {s: [] for s in SPLITS}
    per_collection: dict[str, dict[str, int]] = {}
    n_notes = 0
    for path, rel in tqdm(sources, desc="tokenise", unit="file"):
        coll = rel.split("/", 1)[0]
        stats = per_collection.setdefault(coll, {"files": 0, "pieces": 0})
        stats["files"] += 1
        for piece in load_pieces(cache / f"{cache_key(path, rel)}.npz"):
            notes = piece.canonical_notes()
            toks = codec.encode_notes(notes, start_token=True)
            if len(toks) < 8:
                continue
            split = split_of(piece.rel_id)
            pieces[split].append(piece)
            tokens[split].append(toks)
            stats["pieces"] += 1
            n_notes += len(notes)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta: dict[str, object] = {
        "source": "midi:" + str(args.midi_dir)
        if args.midi_dir
        else "collections:" + ",".join(args.collections),
        "collections": per_collection,
        "vocab": codec.describe_vocab(),
        "notes": n_notes,
        "splits": {},
        "split_rule": "sha1(rel_id) % 10: 0 test, 1 val, else train; rel_id = path-in-corpus#tune-index",
    }
    for split in SPLITS:
        data = build_split(tokens[split])
        save_split(out, split, data)
        save_pieces(out / f"{split}_pieces.npz", pieces[split])
        meta["splits"][split] = {"pieces": data.n_pieces, "tokens": int(len(data.tokens))}  # type: ignore[index]
        print(f"{split}: {data.n_pieces} pieces, {len(data.tokens)} tokens", flush=True)
    (out / "meta.json").write_text(json.dumps(meta, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
