#!/usr/bin/env python
"""Copy a training checkpoint into models/ for shipping: float16 weights, no optimizer.

    .venv/bin/python scripts/ship_model.py runs/gru/best.pt models/gru.pt

Evaluate the shipped file afterwards (scripts/eval_baselines.py --checkpoints ...):
the model card's figures must come from the file users get.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from liveai.models.checkpoint import ARCHS, load_checkpoint, save_checkpoint  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--float32", action="store_true", help="keep float32 weights")
    args = ap.parse_args(argv)
    model, info = load_checkpoint(args.src, "cpu", archs=tuple(ARCHS))
    train_info = dict(info["train_info"])
    train_info["shipped_from"] = str(Path(args.src))
    train_info["weights_dtype"] = "float32" if args.float32 else "float16"
    save_checkpoint(args.dst, model, train_info, half=not args.float32)
    size = Path(args.dst).stat().st_size
    print(f"{args.dst}: {info['config']['arch']}, {size / 1e6:.2f} MB, steps {train_info.get('steps')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
