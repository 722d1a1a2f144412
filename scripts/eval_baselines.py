#!/usr/bin/env python
"""Bits/event of the unigram and 5-gram baselines (trained on the train split) and of
any checkpoints, on the same splits with the same evaluation code.

    .venv/bin/python scripts/eval_baselines.py --checkpoints models/gru.pt models/transformer.pt
    .venv/bin/python scripts/eval_baselines.py --splits val --max-events 100000

Prints one JSON line per (scorer, split) and writes all of them to --out.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from liveai.data.evaluate import evaluate_split  # noqa: E402
from liveai.data.shards import load_split  # noqa: E402
from liveai.models.checkpoint import load_checkpoint  # noqa: E402
from liveai.models.ngram import KneserNeyModel, UnigramModel  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT / "data" / "corpus"))
    ap.add_argument("--splits", nargs="+", default=["val", "test"])
    ap.add_argument("--checkpoints", nargs="*", default=[])
    ap.add_argument("--order", type=int, default=5)
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--max-events", type=int, default=None, help="only the first pieces of each split")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=str(ROOT / "runs" / "eval.json"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    scorers: list[tuple[str, object]] = []
    if not args.no_baselines:
        t0 = time.time()
        train = list(load_split(args.data, "train").pieces())
        scorers.append(("unigram", UnigramModel(train)))
        scorers.append((f"{args.order}-gram", KneserNeyModel(train, args.order)))
        print(
            f"baselines trained on {sum(len(p) - 1 for p in train)} events in {time.time() - t0:.0f}s",
            flush=True,
        )
    for path in args.checkpoints:
        model, info = load_checkpoint(path, args.device)
        scorers.append((f"{info['config']['arch']}:{path}", model))

    results = []
    for name, scorer in scorers:
        for split in args.splits:
            t0 = time.time()
            res = evaluate_split(scorer, args.data, split, args.max_events, name=name)  # type: ignore[arg-type]
            rec = {**res.as_dict(), "split": split, "seconds": round(time.time() - t0, 1)}
            print(json.dumps(rec), flush=True)
            results.append(rec)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
