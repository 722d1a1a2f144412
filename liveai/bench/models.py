"""`liveai bench --models`: what one event costs each model, on one CPU thread.

- per event: feed one token and sample the next (temperature 1, top-p 0.95) with a
  full context already in the state: p50/p99 over many events;
- cached step against a full recompute of the same context (128, 512, 1024 tokens):
  the reason states are kept;
- batched steps of 1, 4 and 16 sessions: the latency of one step for all of them;
- per event again while another Python thread is busy (as the asyncio loop is under a
  burst of notes): the step calls compete with it for the GIL unless compiled.

Each model is measured in float32 as trained, int8, and int8 compiled by TorchScript:
the last is what the live server runs on a CPU.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..core.stats import percentiles_ms
from ..models import codec
from ..models.checkpoint import load_checkpoint
from ..models.sampling import Sampler
from ..runtime.port import GIL_SWITCH_INTERVAL_S
from ..runtime.quantize import quantize_int8
from ..runtime.scripted import script_for_live


def _percentiles(seconds: list[float]) -> dict[str, float]:
    p50, p99 = percentiles_ms(seconds)
    return {
        "p50_ms": round(p50, 4),
        "p99_ms": round(p99, 4),
        "mean_ms": round(1000.0 * sum(seconds) / len(seconds), 4),
    }


def _timed(fn: Callable[[], Any], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _context(length: int, batch: int = 1, seed: int = 0) -> torch.Tensor:
    """Plausible event tokens (note-ons, note-offs, shifts, velocities), not PAD/START."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, codec.START, (batch, length), generator=g)  # (B, T)


def bench_events(model: Any, context: int, events: int) -> dict[str, Any]:
    state = model.init_state(1)
    _, state = model.prefill(_context(context), state)
    sampler = Sampler(temperature=1.0, top_p=0.95, seed=0)
    token = torch.tensor([codec.note_on(60)])
    times = []
    for _ in range(events):
        start = time.perf_counter()
        logits, state = model.step(token, state)
        token = torch.tensor([sampler.sample(logits[0])])
        times.append(time.perf_counter() - start)
    return {"context_tokens": context, "events": events, **_percentiles(times)}


def bench_events_loop_busy(model: Any, context: int, events: int) -> dict[str, Any]:
    """`bench_events` while another thread runs Python without pause (with the
    server's GIL switch interval)."""
    stop = threading.Event()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)

    def busy() -> None:
        while not stop.is_set():
            sum(range(100))

    thread = threading.Thread(target=busy, daemon=True)
    thread.start()
    try:
        return bench_events(model, context, events)
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)


def bench_cached_vs_recompute(model: Any, lengths: tuple[int, ...], repeats: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for length in lengths:
        tokens = _context(length + repeats)
        state = model.init_state(1)
        _, state = model.prefill(tokens[:, :length], state)
        cached = []
        for i in range(repeats):
            start = time.perf_counter()
            _, state = model.step(tokens[:, length + i], state)
            cached.append(time.perf_counter() - start)
        window = tokens[:, :length]
        recompute = _timed(lambda window=window: model.forward(window)[:, -1], max(3, repeats // 20))
        c, r = float(np.median(cached)), float(np.median(recompute))
        out[str(length)] = {
            "cached_step_ms": round(c * 1000, 4),
            "recompute_ms": round(r * 1000, 3),
            "speedup": round(r / c, 1),
        }
    return out


def bench_batched(model: Any, sizes: tuple[int, ...], context: int, repeats: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for batch in sizes:
        state = model.init_state(batch)
        _, state = model.prefill(_context(context, batch), state)
        tokens = _context(repeats, batch, seed=1)
        times = []
        for i in range(repeats):
            start = time.perf_counter()
            _, state = model.step(tokens[:, i], state)
            times.append(time.perf_counter() - start)
        figures = _percentiles(times)
        figures["per_session_mean_ms"] = round(figures["mean_ms"] / batch, 4)
        out[str(batch)] = figures
    return out


def bench_models(paths: list[Path], events: int = 3000) -> dict[str, Any]:
    torch.set_num_threads(1)  # what one live worker thread gets
    report: dict[str, Any] = {"threads": torch.get_num_threads(), "models": {}}
    with torch.inference_mode():
        for path in paths:
            loaded, info = load_checkpoint(path, "cpu")
            params = sum(p.numel() for p in loaded.parameters())
            window = int(info["config"].get("window", 512))
            int8 = quantize_int8(loaded)
            variants = (("float32", loaded), ("int8", int8), ("int8 torchscript", script_for_live(int8)))
            for weights, model in variants:
                report["models"][f"{path.stem} {weights}"] = {
                    "arch": loaded.arch,
                    "weights": weights,
                    "parameters": params,
                    "file_mb": round(path.stat().st_size / 2**20, 2),
                    "per_event": bench_events(model, context=min(512, window), events=events),
                    "per_event_loop_busy": bench_events_loop_busy(
                        model, context=min(512, window), events=events // 3
                    ),
                    "cached_vs_recompute": bench_cached_vs_recompute(model, (128, 512, 1024), repeats=200),
                    "batched_step": bench_batched(model, (1, 4, 16), context=min(512, window), repeats=300),
                }
    return report
