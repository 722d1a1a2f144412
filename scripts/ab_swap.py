#!/usr/bin/env python
"""The weight swap before and after, in turns in one run: two servers, one running an
earlier liveai (`--before`, a source tree such as `git archive` makes) and one this
one, each harmonizing over OSC at 50 notes/s on 16 channels (liveai.bench.learn_live's
turns), steady and then with the continuation model switched every 2 s between two
checkpoints, while pings measure the loop. Deadline misses per switch and ping p99.

    git archive 3b710d5 | tar -x -C /tmp/before
    .venv/bin/python scripts/ab_swap.py --before /tmp/before --json docs/figures/2026-12-07-swap-ab.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from liveai.bench import learn_live as L  # noqa: E402
from liveai.bench.harness import machine, summarize  # noqa: E402
from liveai.bench.play import ChannelRoundTrip, PlayServer, osc_sender, play_notes  # noqa: E402
from liveai.models.shipped import shipped_dir  # noqa: E402


class Server(PlayServer):
    """`liveai serve` from the source tree `tree`, harmonizing with the harmony model."""

    def __init__(self, stack: ExitStack, tree: Path, env: dict[str, str]) -> None:
        env = {**env, "PYTHONPATH": str(tree)}  # before the editable install's finder
        overrides = ["server.mode=harmonize", "harmonize.by=harmony"]
        super().__init__(stack, "gru", overrides, env=env, cwd=tree, timeout=90)


def figures(runs: list[dict[str, Any]]) -> dict[str, Any]:
    swaps = sum(r["swaps"] for r in runs)
    return {
        "deadline_misses": sum(r["deadline_misses"] for r in runs),
        "swaps": swaps,
        "deadline_misses_by_turn": [r["deadline_misses"] for r in runs],
        "harmonize": summarize(
            [x for r in runs for x in r["latencies"]],
            sum(r["sent"] for r in runs),
            sum(r["lost"] for r in runs),
        ),
        "ping": summarize([x for r in runs for x in r["pings"]], 0, sum(r["pings_lost"] for r in runs)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", type=Path, required=True, help="the earlier liveai's source tree")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--turns", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    trees = {"before": args.before.resolve(), "after": ROOT}
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {k: {"steady": [], "switching": []} for k in trees}
    loads = []
    with tempfile.TemporaryDirectory() as home, ExitStack() as stack:
        models = Path(home) / "liveai" / "models"
        models.mkdir(parents=True)
        shutil.copy(shipped_dir() / "gru.pt", models / "gru-copy.pt")
        env = {**os.environ, "XDG_DATA_HOME": home}
        servers = {}
        for key, tree in trees.items():
            srv = servers[key] = Server(stack, tree, env)
            srv.trip = ChannelRoundTrip()
            srv.answers.round_trip = srv.trip
            srv.send, sock = osc_sender(srv.port)
            stack.callback(sock.close)
            play_notes([srv.send], srv.trip, L.RATE, 1.0, channels=16)  # warm-up
        for turn in range(args.turns):  # in turns: what the machine does meanwhile falls on both
            order = ["before", "after"] if turn % 2 == 0 else ["after", "before"]
            for key in order:
                srv = servers[key]
                loads.append(os.getloadavg()[0])
                runs[key]["steady"].append(L.swap_turn(srv, srv.send, srv.trip, args.seconds, None))
                runs[key]["switching"].append(
                    L.swap_turn(srv, srv.send, srv.trip, args.seconds, ["gru-copy", "gru"])
                )
                print(
                    turn,
                    key,
                    "steady",
                    runs[key]["steady"][-1]["deadline_misses"],
                    "switching",
                    runs[key]["switching"][-1]["deadline_misses"],
                    "swaps",
                    runs[key]["switching"][-1]["swaps"],
                    flush=True,
                )
    report: dict[str, Any] = {
        "machine": machine(),
        "commit": L.commit(),
        "before": str(args.before),
        "seconds_per_turn": args.seconds,
        "turns": args.turns,
        "rate_notes_s": L.RATE,
        "every_s": L.SWAP_EVERY_S,
        "load_avg_1min_at_turns": loads,
    }
    for key in trees:
        steady, switching = figures(runs[key]["steady"]), figures(runs[key]["switching"])
        caused = switching["deadline_misses"] - steady["deadline_misses"]
        near, calm = L.windows(runs[key]["switching"]), L.windows(runs[key]["steady"])
        report[key] = {
            "steady": steady,
            "switching": switching,
            f"within_{L.WINDOW_S:g}_s_steady": calm,
            f"within_{L.WINDOW_S:g}_s_of_a_switch": near,
            "misses_per_switch_within_window": round(near["per_window"] - calm["per_window"], 2)
            if near["per_window"] is not None and calm["per_window"] is not None
            else None,
            "misses_per_switch": round(caused / switching["swaps"], 2) if switching["swaps"] else None,
            "ping_p99_ratio": round(switching["ping"]["p99_ms"] / steady["ping"]["p99_ms"], 3),
        }
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
