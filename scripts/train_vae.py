#!/usr/bin/env python
"""Train the morph model (liveai.models.vae) on two-bar melodies of the corpus's scores.

    .venv/bin/python scripts/train_vae.py --steps 8000
    .venv/bin/python scripts/train_vae.py --resume auto
    torchrun --nproc-per-node 4 scripts/train_vae.py        # DDP, no code change

Data: the two-bar windows of the prepared corpus's scores (liveai.data.melodies; the
splits of scripts/prepare_data.py), cached as <data>/melodies_<split>.npy. Every
training melody is transposed by a random -6..+5 semitones (kept if it stays in range).

Loss: reconstruction cross-entropy summed over the 32 steps plus beta * max(KL - free
bits, 0), beta rising linearly to --beta over --beta-steps (MusicVAE's 2-bar melody
model: 48 free bits, beta 0.2). Shows a progress bar; logs to <out>/log.jsonl, draws
<out>/learning_curve.png, writes <out>/last.pt (with optimizer state) and <out>/best.pt
(best validation loss), loadable with liveai.models.checkpoint.load_checkpoint.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tqdm import tqdm  # noqa: E402
from train_continuation import parse_cfg  # noqa: E402
from training import start_run  # noqa: E402

from liveai.data.corpus import load_pieces  # noqa: E402
from liveai.data.melodies import melodies  # noqa: E402
from liveai.learn.loop import LoopState, Schedule  # noqa: E402
from liveai.learn.vae_loop import LN2, VAELoop, beta_at, evaluate, transpose_batch  # noqa: E402, F401 (evaluate: eval_vae.py's)
from liveai.models.checkpoint import build_model, plain_args, read_checkpoint, unwrap  # noqa: E402


def load_melodies(data: Path, split: str) -> np.ndarray:
    """(N, 32) melodies of a split, cut once and cached beside the corpus."""
    cache = data / f"melodies_{split}.npy"
    pieces = data / f"{split}_pieces.npz"
    if cache.exists() and cache.stat().st_mtime >= pieces.stat().st_mtime:
        return np.load(cache)
    rows = melodies(load_pieces(pieces))
    np.save(cache, rows)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT / "data" / "corpus"))
    ap.add_argument("--out", default=str(ROOT / "runs" / "vae"))
    ap.add_argument("--steps", type=int, default=8000)
    ap.add_argument("--batch-size", type=int, default=128, help="per process")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--min-lr", type=float, default=1e-5)
    ap.add_argument("--beta", type=float, default=0.2)
    ap.add_argument("--beta-steps", type=int, default=3000)
    ap.add_argument("--free-bits", type=float, default=48.0)
    ap.add_argument("--cfg", action="append", default=[], help="model config field, e.g. latent=128")
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--eval-melodies", type=int, default=4000)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--resume", help="checkpoint to resume from, or 'auto' for <out>/last.pt if present")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    run = start_run(args.device, args.threads, Path(args.out))
    world, rank, device, main_proc, out, say = run.world, run.rank, run.device, run.main, run.out, run.say

    data = Path(args.data)
    if main_proc:  # one process cuts and caches the melodies; the others read them
        load_melodies(data, "train")
        load_melodies(data, "val")
    run.barrier()
    train = load_melodies(data, "train")
    val = load_melodies(data, "val")[: args.eval_melodies]
    free_nats = args.free_bits * LN2

    resume = out / "last.pt" if args.resume == "auto" and (out / "last.pt").exists() else args.resume
    ckpt = read_checkpoint(resume, "cpu") if resume and resume != "auto" else None
    cfg = {k: v for k, v in ckpt["config"].items() if k != "arch"} if ckpt else parse_cfg("vae", args.cfg)
    torch.manual_seed(args.seed)  # the same first weights for the same seed
    model = build_model("vae", cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, wall_prior, best = 0, 0.0, float("inf")
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        if "optimizer" in ckpt:  # last.pt has it; best.pt does not (it starts a fresh optimizer)
            opt.load_state_dict(ckpt["optimizer"])
        step, wall_prior = int(ckpt["train_info"]["steps"]), float(ckpt["train_info"]["wall_time_s"])
        best = float(ckpt["train_info"].get("best_val_elbo_nats", float("inf")))
        say(f"resumed {resume} at step {step}")
    n_params = sum(p.numel() for p in model.parameters())
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    rng = torch.Generator().manual_seed(args.seed * 1000 + rank + 7919 * step)
    train_t = torch.from_numpy(train.astype(np.int64))
    log_json = run.log

    def train_info(figures: dict[str, float], step: int) -> dict[str, Any]:
        return {
            "steps": step,
            "wall_time_s": round(wall_prior + time.time() - t_start, 1),
            "params": n_params,
            "world_size": world,
            "device": str(device),
            "train_melodies": len(train),
            "val": figures,
            "best_val_elbo_nats": best,
            "args": plain_args(args),
        }

    say(
        f"vae: {n_params / 1e6:.2f}M params, {len(train)} train melodies, {len(val)} validation, device "
        f"{device}"
    )
    t_start = time.time()
    bar = tqdm(total=args.steps, initial=step, desc="vae", unit="step", disable=not main_proc, smoothing=0.02)
    state = LoopState(step=step, best=best, elapsed_prior=wall_prior)

    def batch() -> torch.Tensor:
        idx = torch.randint(0, len(train_t), (args.batch_size,), generator=rng)
        return transpose_batch(train_t[idx], rng).to(device)

    def on_log(state: LoopState, record: dict[str, float]) -> None:
        if main_proc:
            bar.set_postfix(recon=record["train_recon_nats"], kl=record["train_kl_nats"])
            log_json({k: v for k, v in record.items() if k != "wall_time_s"})

    def on_eval(state: LoopState, figures: dict[str, Any] | None, improved: bool) -> None:
        nonlocal best
        if main_proc and figures is not None:
            best = state.best
            run.evaluated(
                state.step,
                figures,
                improved,
                model,
                train_info(figures, state.step),
                opt,
                bar,
                "vae",
                VAE_CURVES,
            )
        run.barrier()

    last: dict[str, Any] = {}

    def evaluation() -> float | None:
        if not main_proc:
            return None
        last.clear()
        last.update(evaluate(unwrap(model), val))  # type: ignore[arg-type]
        return float(last["elbo_nats"])

    loop = VAELoop(
        model,
        opt,
        Schedule(args.lr, args.min_lr, warmup=0, steps=args.steps),
        batch,
        lambda s: beta_at(s, args.beta, args.beta_steps),
        free_nats,
        evaluation,
        lambda state, value, improved: on_eval(state, dict(last) if value is not None else None, improved),
        eval_every=args.eval_every,
        log_every=args.log_every,
        on_log=on_log,
        on_step=lambda state: bar.update(1),
    )
    if step < args.steps:
        state = loop.run(state)
    step = state.step
    bar.close()
    say(f"done: {step} steps, best validation ELBO {best:.3f} nats per melody, checkpoints in {out}")
    run.close()
    return 0


VAE_CURVES = {
    "train_recon_nats": "train reconstruction",
    "train_kl_nats": "train KL",
    "val_recon_nats": "validation reconstruction",
    "val_kl_nats": "validation KL",
}

if __name__ == "__main__":
    raise SystemExit(main())
