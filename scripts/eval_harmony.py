#!/usr/bin/env python
"""The harmony model's card: the rule harmonizer, today's continuation-model harmonizer
and the harmony model, scored by the same code (liveai.bench.harmony) on held-out
chorale sopranos and POP909 melodies, and the step latency of each model on one thread.

    .venv/bin/python scripts/eval_harmony.py --json docs/figures/2026-12-07-harmony.json

Every harmonizer plays at `harmonize.voices` = 2 (the default) with the piece's key set,
in register 36..96, temperature 1, seeded. POP909 melodies are cut to their first
--notes notes (the continuation model steps every token: minutes otherwise).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from liveai.bench import harmony as bench  # noqa: E402
from liveai.bench.harness import machine  # noqa: E402
from liveai.data import harmony  # noqa: E402
from liveai.data.harmony import HarmonyPiece  # noqa: E402
from liveai.models.base import ContinuationModel  # noqa: E402
from liveai.models.checkpoint import load_checkpoint  # noqa: E402
from liveai.models.harmony import HarmonyModel  # noqa: E402
from liveai.models.shipped import find_checkpoint  # noqa: E402
from liveai.models.voicer import Ask, Voicer  # noqa: E402
from liveai.runtime.quantize import quantize_int8  # noqa: E402
from liveai.runtime.scripted import script_for_live  # noqa: E402

SETS = {"chorales": "held-out chorale sopranos", "pop909": "held-out POP909 melodies"}


def cut(pieces: list[HarmonyPiece], notes: int) -> list[HarmonyPiece]:
    return [
        HarmonyPiece(p.rel_id, p.tonic, p.minor, p.melody[:notes], p.onset_q[:notes], p.real[:notes])
        for p in pieces
    ]


def latency(step: Any, n: int = 2000) -> dict[str, float]:
    """p50/p99 in ms of `step()` on this thread, after a warm-up."""
    for _ in range(50):
        step()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    p50, p99 = np.percentile(times, [50, 99]) * 1000
    return {"p50_ms": round(float(p50), 3), "p99_ms": round(float(p99), 3)}


def live(model: torch.nn.Module) -> Any:
    """As the server runs it on a CPU: int8 weights, TorchScript."""
    return script_for_live(quantize_int8(model))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT / "data" / "harmony"))
    ap.add_argument("--model", default="harmony", help="the harmony model: shipped name or path")
    ap.add_argument("--continuation", default="gru")
    ap.add_argument("--split", default="test")
    ap.add_argument("--voices", type=int, default=2)
    ap.add_argument("--notes", type=int, default=128, help="melody notes per POP909 song")
    ap.add_argument("--pieces", type=int, default=0, help="only the first N pieces of each set (0: all)")
    ap.add_argument(
        "--only",
        nargs="+",
        choices=("rule", "continuation", "harmony"),
        help="score only these harmonizers (the continuation model takes minutes)",
    )
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    model_path, gru_path = find_checkpoint(args.model), find_checkpoint(args.continuation)
    model = cast(HarmonyModel, live(load_checkpoint(model_path, archs=("harmony",))[0]))
    gru = cast(ContinuationModel, live(load_checkpoint(gru_path)[0]))
    harmonizers = {
        "rule": bench.rule,
        "continuation model (today)": bench.with_continuation(gru),
        "harmony model": bench.with_model(model),
    }
    if args.only:
        harmonizers = {who: h for who, h in harmonizers.items() if who.split()[0] in args.only}
    report: dict[str, Any] = {
        "machine": machine(),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip(),
        "model": str(model_path.relative_to(ROOT) if model_path.is_relative_to(ROOT) else model_path),
        "voices": args.voices,
        "split": args.split,
        "sets": {},
    }
    for name, label in SETS.items():
        pieces = harmony.load(Path(args.data) / f"{name}_{args.split}.npz")
        pieces = cut(pieces, args.notes) if name == "pop909" else pieces
        pieces = pieces[: args.pieces] if args.pieces else pieces
        rows = {}
        for who, harmonize in harmonizers.items():
            played = [harmonize(p, args.voices) for p in tqdm(pieces, desc=f"{name}: {who}", unit="piece")]
            rows[who] = {k: round(v, 4) for k, v in bench.score(pieces, played).items()}
        report["sets"][name] = {"label": label, "pieces": len(pieces), "rows": rows}
        print(json.dumps({name: rows}, indent=1), flush=True)
    voicer = Voicer(model)
    ask = Ask(67, 0, False, args.voices, frozenset({0, 2, 4, 5, 7, 9, 11}), 36, 96)
    state, token = gru.init_state(1), torch.tensor([[60]])
    report["latency_one_thread"] = {
        "harmony model: one chord (step, masks, voice leading, draw)": latency(lambda: voicer.voice(ask)),
        "continuation model: one step": latency(lambda: gru.prefill(token, state)),
    }
    print(json.dumps(report["latency_one_thread"], indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
