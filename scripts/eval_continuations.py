#!/usr/bin/env python
"""Does a generated continuation fit its prime? Numbers over many test pieces.

For each of the first --pieces test pieces at least --prime + --seconds long: prime = its
first --prime seconds, continuation = --seconds sampled by the model. Reports, averaged:
pitch-class profile correlation prime/continuation, same estimated key, notes per
second ratio; next to the same figures for the piece's real continuation (ceiling) and
for the real continuation of another piece (what "unrelated" scores). Each model
continues twice: key=free (unconstrained) and key=follow (as `liveai generate` does by
default and the duet live: the prime's scale, its degrees in proportion).

    .venv/bin/python scripts/eval_continuations.py models/gru.pt models/transformer.pt
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from liveai.data.generate import generate_continuation  # noqa: E402
from liveai.data.metrics import notes_per_second, pitch_class_correlation  # noqa: E402
from liveai.data.midi import notes_to_midi  # noqa: E402
from liveai.data.offline import steering  # noqa: E402
from liveai.data.shards import load_split  # noqa: E402
from liveai.models import codec  # noqa: E402
from liveai.models.checkpoint import load_checkpoint  # noqa: E402
from liveai.music.tonality import estimate_key  # noqa: E402


def figures(prime: list[codec.Note], cont: list[codec.Note]) -> dict[str, float]:
    kp, kc = estimate_key(prime), estimate_key(cont)
    nps_p = notes_per_second(prime)
    return {
        "pc_corr": pitch_class_correlation(prime, cont),
        "same_key": float(kp is not None and kc is not None and (kp.tonic, kp.mode) == (kc.tonic, kc.mode)),
        "density_ratio": notes_per_second(cont) / nps_p if nps_p else 0.0,
    }


def summarise(rows: list[dict[str, float]]) -> dict[str, float]:
    return {
        "pc_corr_mean": round(statistics.mean(r["pc_corr"] for r in rows), 3),
        "same_key_rate": round(statistics.mean(r["same_key"] for r in rows), 3),
        "density_ratio_median": round(statistics.median(r["density_ratio"] for r in rows), 3),
        "n": len(rows),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("--data", default=str(ROOT / "data" / "corpus"))
    ap.add_argument("--pieces", type=int, default=40)
    ap.add_argument("--prime", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--top-p", type=float, default=0.95)
    ap.add_argument("--key-pull", type=float, default=4.0, help="with key=follow, as duet.key_pull")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    test = load_split(args.data, "test")
    pieces = []
    for toks in test.pieces():
        notes = codec.decode_tokens(toks.tolist())
        if notes and max(n.end for n in notes) >= args.prime + args.seconds:
            pieces.append(notes)
        if len(pieces) == args.pieces:
            break
    split = [
        (
            [n for n in notes if n.start < args.prime],
            [n for n in notes if args.prime <= n.start < args.prime + args.seconds],
        )
        for notes in pieces
    ]
    out: dict[str, object] = {"pieces": len(split), "prime_s": args.prime, "continuation_s": args.seconds}
    out["real_continuation"] = summarise([figures(p, c) for p, c in split])
    out["other_piece"] = summarise(
        [figures(split[i][0], split[(i + 1) % len(split)][1]) for i in range(len(split))]
    )
    with tempfile.TemporaryDirectory() as tmp:
        for path in args.checkpoints:
            model, info = load_checkpoint(path, "cpu")
            for key in ("free", "follow"):
                rows = []
                for i, (prime, _) in enumerate(split):
                    mid = Path(tmp) / f"prime{i}.mid"
                    notes_to_midi(prime).write(str(mid))
                    constraints, balance = steering(prime, key, args.key_pull)
                    pm = generate_continuation(
                        model,
                        mid,
                        args.seconds,
                        temperature=args.temperature,
                        top_p=args.top_p,
                        seed=i,
                        constraints=constraints,
                        balance=balance,
                    )
                    cont = [codec.Note(n.start, n.end, n.pitch, n.velocity) for n in pm.instruments[1].notes]
                    rows.append(figures(prime, cont))
                out[f"{info['config']['arch']}:{path} key={key}"] = summarise(rows)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
