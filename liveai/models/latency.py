"""Latency figures of a continuation model (for `liveai bench --models` and model cards).

The caller picks the thread count (`torch.set_num_threads(1)` for the live figure).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import nn

from liveai.models import codec
from liveai.models.base import stack_states
from liveai.models.sampling import Sampler


def _summary(samples_s: list[float]) -> dict[str, float]:
    a = np.asarray(samples_s) * 1000.0
    return {
        "p50_ms": round(float(np.percentile(a, 50)), 4),
        "p99_ms": round(float(np.percentile(a, 99)), 4),
        "mean_ms": round(float(a.mean()), 4),
        "max_ms": round(float(a.max()), 4),
        "n": int(a.size),
    }


def _primed_state(model: nn.Module, context: int, batch: int, seed: int = 0) -> Any:
    g = torch.Generator().manual_seed(seed)
    state = model.init_state(batch)  # type: ignore[operator]
    if context > 0:
        device = next(model.parameters()).device
        toks = torch.randint(0, codec.START, (batch, context), generator=g).to(device)
        _, state = model.prefill(toks, state)  # type: ignore[operator]
    return state


@torch.inference_mode()
def step_latency(
    model: nn.Module, *, context: int | None = None, batch: int = 1, n: int = 1000, warmup: int = 50, sample: bool = True
) -> dict[str, Any]:
    """Per-event latency: one `step` of `batch` sessions (+ sampling one token each).

    `context` tokens are prefilled first; default: the Transformer's full window
    (its worst case), 256 for the GRU (whose cost does not depend on it)."""
    model.eval()
    device = next(model.parameters()).device
    if context is None:
        context = int(getattr(model.config, "window", 256))
    states = [_primed_state(model, context, 1, seed=i) for i in range(batch)]
    state = stack_states(states) if batch > 1 else states[0]
    samplers = [Sampler(seed=i) for i in range(batch)]
    tok = torch.full((batch,), codec.note_on(60), dtype=torch.long, device=device)
    times: list[float] = []
    for i in range(warmup + n):
        t0 = time.perf_counter()
        logits, state = model.step(tok, state)  # type: ignore[operator]
        if sample:
            cpu = logits.float().cpu()
            tok = torch.tensor([s.sample(cpu[b]) for b, s in enumerate(samplers)], device=device)
        elif device.type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        if i >= warmup:
            times.append(dt)
    return {"arch": model.arch, "context": context, "batch": batch, "sample": sample, **_summary(times)}


@torch.inference_mode()
def recompute_latency(model: nn.Module, context: int, n: int = 20, warmup: int = 2) -> dict[str, Any]:
    """What one event would cost without a cache: `forward` over the whole context."""
    model.eval()
    device = next(model.parameters()).device
    toks = torch.randint(0, codec.START, (1, context), generator=torch.Generator().manual_seed(0)).to(device)
    times = []
    for i in range(warmup + n):
        t0 = time.perf_counter()
        model(toks)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return {"arch": model.arch, "context": context, **_summary(times)}
