#!/usr/bin/env python
"""Read melodies with their harmony (liveai.data.harmony) from music21's Bach chorales
and POP909 into <out>/<source>_<split>.npz, split as the corpus is (shards.split_of).

    .venv/bin/python scripts/prepare_harmony.py                 # -> data/harmony/
    .venv/bin/python scripts/prepare_harmony.py --pop909 DIR --out DIR
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tqdm import tqdm  # noqa: E402

from liveai.data import harmony  # noqa: E402
from liveai.data.shards import SPLITS, split_of  # noqa: E402

DEFAULT_POP909 = ROOT.parent / "shared" / "data" / "pop909"


def sources(pop909: Path) -> dict[str, list[tuple[Path, str]]]:
    """(path, relative id as the corpus names it) per source."""
    from music21 import corpus

    corpus_root = Path(corpus.__file__).resolve().parent
    bach = sorted(Path(p) for p in corpus.getComposer("bach"))
    pop = sorted(pop909.glob("*.mid"))
    if not pop:
        raise SystemExit(f"prepare_harmony: no POP909 MIDI files in {pop909} (--pop909 DIR)")
    return {
        "chorales": [(p, p.resolve().relative_to(corpus_root).as_posix()) for p in bach],
        "pop909": [(p, f"pop909/{p.name}") for p in pop],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pop909", default=str(DEFAULT_POP909))
    ap.add_argument("--out", default=str(ROOT / "data" / "harmony"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    readers = {"chorales": harmony.chorale, "pop909": harmony.pop909}
    for source, files in sources(Path(args.pop909).expanduser()).items():
        pieces: dict[str, list[harmony.HarmonyPiece]] = {s: [] for s in SPLITS}
        skipped = 0
        for path, rel in tqdm(files, desc=source, unit="file"):
            rel_id = f"{rel}#0"  # one piece per file, named as the corpus names it
            try:
                piece = readers[source](path, rel_id)
            except Exception as exc:  # a broken file must not lose the collection
                logging.warning("skipping %s: %s: %s", rel, type(exc).__name__, exc)
                piece = None
            if piece is None:
                skipped += 1
                continue
            pieces[split_of(rel_id)].append(piece)
        for split, chosen in pieces.items():
            harmony.save(out / f"{source}_{split}.npz", chosen)
        counts = {s: (len(p), sum(len(x.melody) for x in p)) for s, p in pieces.items()}
        print(f"{source}: {skipped} skipped; (pieces, melody notes) per split: {counts}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
