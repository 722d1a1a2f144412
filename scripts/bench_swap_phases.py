"""What a model switch costs the music, phase by phase: CPU time, and the longest the
phase keeps the GIL from a thread that wants it every millisecond.

Each phase runs on a thread, as the switch's builder does; this thread (SCHED_FIFO
where allowed, so that other processes on the machine do not count) sleeps 1 ms at a
time and records its worst lateness while the phase runs: the longest stretch the
phase held the GIL. Phases of a full build (as `liveai.live.switch` did for every
switch) and of loading the weights into a model built already (as it does now).

    .venv/bin/python scripts/bench_swap_phases.py --out docs/figures/2026-12-07-swap-phases.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from liveai.bench.harness import machine
from liveai.bench.learn_live import commit
from liveai.config import Config
from liveai.models.checkpoint import load_checkpoint, read_weights
from liveai.models.shipped import shipped_dir
from liveai.runtime.loading import live_model, prime_states, spare_of, warm_up
from liveai.runtime.port import GIL_SWITCH_INTERVAL_S
from liveai.runtime.quantize import quantize_int8
from liveai.runtime.reload import load_into
from liveai.runtime.scripted import script_for_live
from liveai.runtime.stepper import HISTORY_TOKENS, _Heard


def watched(fn: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    """fn's result, and its wall and CPU ms and the ticker's worst lateness in ms."""
    out: dict[str, Any] = {}

    def run() -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        out["value"] = fn()
        out["wall"], out["cpu"] = time.perf_counter() - wall, time.thread_time() - cpu

    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    except (OSError, AttributeError):  # not root, or not Linux: other processes may add to the gaps
        pass
    worst, thread = 0.0, threading.Thread(target=run)
    thread.start()
    last = time.perf_counter()
    while thread.is_alive():
        time.sleep(0.001)
        now = time.perf_counter()
        worst, last = max(worst, now - last - 0.001), now
    thread.join()
    try:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    except (OSError, AttributeError):
        pass
    return out["value"], {
        "wall_ms": out["wall"] * 1000,
        "cpu_ms": out["cpu"] * 1000,
        "gil_gap_ms": worst * 1000,
    }


def phases(name: str, repeats: int) -> dict[str, Any]:
    path, config = shipped_dir() / f"{name}.pt", Config()
    _, info, _ = live_model(path, config)
    spare = spare_of(path, info["config"], config)  # built at startup
    snapshot = {
        f"s{i}": (_Heard(), HISTORY_TOKENS, [60 + j % 12 for j in range(HISTORY_TOKENS)]) for i in range(4)
    }
    rows: dict[str, list[dict[str, float]]] = {}

    def add(phase: str, fn: Callable[[], Any]) -> Any:
        value, figures = watched(fn)
        rows.setdefault(phase, []).append(figures)
        return value

    for _ in range(repeats):
        model = add(
            "full: load_checkpoint (torch.load, build, load_state_dict)", lambda: load_checkpoint(path)[0]
        )
        quantized = add("full: quantize_int8 (deepcopy, quantize_dynamic)", lambda: quantize_int8(model))
        scripted = add("full: script_for_live (torch.jit.script)", lambda: script_for_live(quantized))
        add("full: warm_up, 3 steps", lambda: warm_up(scripted, steps=3))
        checkpoint = add("now: read_weights (torch.load weights_only)", lambda: read_weights(path)[0])
        add(
            "now: load_into the spare (copy_, int8 layers packed again)", lambda: load_into(spare, checkpoint)
        )
        add("both: prime_states, 4 sessions of 64 tokens", lambda: prime_states(spare.model, snapshot))
    return {
        phase: {key: round(statistics.median(r[key] for r in runs), 2) for key in runs[0]}
        | {"gil_gap_ms_max": round(max(r["gil_gap_ms"] for r in runs), 2)}
        for phase, runs in rows.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["gru", "transformer"])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)  # as the server has it
    torch.set_num_threads(1)
    report = {
        "machine": machine(),
        "commit": commit(),
        "load_avg_1min": os.getloadavg()[0],
        "repeats": args.repeats,
        "figures": "medians over the repeats; gil_gap_ms_max the worst",
        "models": {name: phases(name, args.repeats) for name in args.models},
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
