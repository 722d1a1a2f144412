#!/usr/bin/env python
"""Harmonize by the harmony model against by the continuation model, in turns in one run:
the round trip note-in -> first voice out over OSC at 200 notes/s on 16 channels, with
the deadline misses (liveai.bench.play's harness, the shipped GRU as the worker's model).

    .venv/bin/python scripts/ab_harmonize.py --seconds 15 --json docs/figures/2026-12-07-harmony-play-ab.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from liveai.bench import play  # noqa: E402
from liveai.bench.harness import machine  # noqa: E402


def one(by: str, seconds: float, rate: float) -> dict[str, Any]:
    with ExitStack() as stack:
        srv = play.PlayServer(stack, "gru", ["server.mode=harmonize", f"harmonize.by={by}"])
        trip = play.ChannelRoundTrip()
        srv.answers.round_trip = trip
        send, sock = play.osc_sender(srv.port)
        stack.callback(sock.close)
        return dict(play.harmonize_rates(srv, send, trip, "gru", [rate], seconds)[f"{rate:g} notes/s"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--turns", type=int, default=2)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    report: dict[str, Any] = {
        "machine": machine(),
        "commit": commit.stdout.strip(),
        "turns": [],
        "what": f"harmonize note-in -> first voice out over OSC at {args.rate:g} notes/s, "
        f"16 channels, {args.seconds:g} s per turn, by in turns",
    }
    for _ in range(args.turns):
        for by in ("continuation", "harmony"):
            figures = one(by, args.seconds, args.rate)
            report["turns"].append({"by": by, **figures})
            print(
                by, {k: figures.get(k) for k in ("p50_ms", "p99_ms", "deadline_misses", "lost")}, flush=True
            )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
