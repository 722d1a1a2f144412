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
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tqdm import tqdm  # noqa: E402
from train_continuation import parse_cfg  # noqa: E402
from training import start_run  # noqa: E402

from liveai.data.corpus import load_pieces  # noqa: E402
from liveai.data.melodies import melodies  # noqa: E402
from liveai.models import melody  # noqa: E402
from liveai.models.checkpoint import build_model, plain_args, read_checkpoint, unwrap  # noqa: E402
from liveai.models.vae import MelodyVAE, kl_per_dim  # noqa: E402

LN2 = math.log(2.0)


def load_melodies(data: Path, split: str) -> np.ndarray:
    """(N, 32) melodies of a split, cut once and cached beside the corpus."""
    cache = data / f"melodies_{split}.npy"
    pieces = data / f"{split}_pieces.npz"
    if cache.exists() and cache.stat().st_mtime >= pieces.stat().st_mtime:
        return np.load(cache)
    rows = melodies(load_pieces(pieces))
    np.save(cache, rows)
    return rows


def transpose_batch(batch: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Each melody moved by its own -6..+5 semitones, unless a note would leave 0-127."""
    shift = torch.randint(-6, 6, (batch.shape[0], 1), generator=rng)
    notes = batch < melody.N_PITCHES
    moved = torch.where(notes, batch + shift, batch)
    ok = ((moved >= 0) & (moved < melody.N_PITCHES) | ~notes).all(dim=1, keepdim=True)
    return torch.where(ok, moved, batch)


def losses(model: MelodyVAE, batch: torch.Tensor, free_nats: float) -> dict[str, torch.Tensor]:
    logits, mu, sigma = model(batch)
    recon = F.cross_entropy(logits.transpose(1, 2), batch, reduction="none").sum(dim=1)  # (B,) nats
    kl = kl_per_dim(mu, sigma).sum(dim=1)  # (B,)
    return {"recon": recon.mean(), "kl": kl.mean(), "kl_cost": torch.clamp(kl - free_nats, min=0.0).mean()}


@torch.no_grad()
def evaluate(model: MelodyVAE, data: np.ndarray, batch_size: int = 512, per_dim: bool = False) -> dict[str, Any]:
    """Reconstruction from mu, teacher forced and greedy: accuracy per step and on the
    steps where a note starts; KL per dimension (nats, mean over melodies; each
    dimension's too with `per_dim`)."""
    model.eval()
    tf_right = greedy_right = notes_tf = notes_greedy = n_notes = n_steps = 0
    recon = kl_sum = 0.0
    kl_dims = torch.zeros(model.config.latent)
    for i in range(0, len(data), batch_size):
        x = torch.from_numpy(data[i : i + batch_size].astype(np.int64))
        mu, sigma = model.encode(x)
        logits = model.decode_logits(mu, x)
        recon += float(F.cross_entropy(logits.transpose(1, 2), x, reduction="sum"))
        kl = kl_per_dim(mu, sigma)
        kl_dims += kl.sum(dim=0)
        kl_sum += float(kl.sum())
        tf = logits.argmax(-1) == x
        greedy = model.decode(mu) == x
        is_note = x < melody.N_PITCHES
        tf_right += int(tf.sum())
        greedy_right += int(greedy.sum())
        notes_tf += int((tf & is_note).sum())
        notes_greedy += int((greedy & is_note).sum())
        n_notes += int(is_note.sum())
        n_steps += x.numel()
    n = len(data)
    kl_dims /= n
    return {
        "recon_nats": round(recon / n, 4),
        "kl_nats": round(kl_sum / n, 4),
        "elbo_nats": round((recon + kl_sum) / n, 4),
        "step_accuracy_teacher_forced": round(tf_right / n_steps, 4),
        "note_accuracy_teacher_forced": round(notes_tf / n_notes, 4),
        "step_accuracy_greedy": round(greedy_right / n_steps, 4),
        "note_accuracy_greedy": round(notes_greedy / n_notes, 4),
        "kl_per_dim_mean": round(float(kl_dims.mean()), 4),
        "dims_in_use": int((kl_dims > 0.05).sum()),  # MusicVAE's "active units" rule of thumb
        **({"kl_per_dim": [round(float(k), 4) for k in kl_dims]} if per_dim else {}),
    }


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
            model, device_ids=[device.index] if device.type == "cuda" else None)
    rng = torch.Generator().manual_seed(args.seed * 1000 + rank + 7919 * step)
    train_t = torch.from_numpy(train.astype(np.int64))
    log_json = run.log

    def train_info(figures: dict[str, float]) -> dict[str, Any]:
        return {"steps": step, "wall_time_s": round(wall_prior + time.time() - t_start, 1), "params": n_params,
                "world_size": world, "device": str(device), "train_melodies": len(train),
                "val": figures, "best_val_elbo_nats": best,
                "args": plain_args(args)}

    say(f"vae: {n_params / 1e6:.2f}M params, {len(train)} train melodies, {len(val)} validation, device {device}")
    t_start = t_log = time.time()
    acc: dict[str, float] = {"recon": 0.0, "kl": 0.0}
    n_acc = 0
    bar = tqdm(total=args.steps, initial=step, desc="vae", unit="step", disable=not main_proc, smoothing=0.02)
    while step < args.steps:
        progress = min(step / max(args.steps, 1), 1.0)
        lr = args.min_lr + 0.5 * (args.lr - args.min_lr) * (1 + math.cos(math.pi * progress))
        for g in opt.param_groups:
            g["lr"] = lr
        beta = args.beta * min(step / max(args.beta_steps, 1), 1.0)
        idx = torch.randint(0, len(train_t), (args.batch_size,), generator=rng)
        batch = transpose_batch(train_t[idx], rng).to(device)
        model.train()
        parts = losses(model, batch, free_nats)  # type: ignore[arg-type]
        loss = parts["recon"] + beta * parts["kl_cost"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        bar.update(1)
        acc["recon"] += parts["recon"].item()
        acc["kl"] += parts["kl"].item()
        n_acc += 1
        if step % args.log_every == 0 and main_proc:
            rec = {"step": step, "train_recon_nats": round(acc["recon"] / n_acc, 4),
                   "train_kl_nats": round(acc["kl"] / n_acc, 4), "beta": round(beta, 4), "lr": lr,
                   "steps_per_s": round(args.log_every / (time.time() - t_log), 3)}
            bar.set_postfix(recon=rec["train_recon_nats"], kl=rec["train_kl_nats"])
            log_json(rec)
            acc, n_acc, t_log = {"recon": 0.0, "kl": 0.0}, 0, time.time()
        if (step % args.eval_every == 0 or step == args.steps) and main_proc:
            figures = evaluate(unwrap(model), val)  # type: ignore[arg-type]
            improved = figures["elbo_nats"] < best
            best = min(best, figures["elbo_nats"])
            run.evaluated(step, figures, improved, model, train_info(figures), opt, bar, "vae", VAE_CURVES)
        if step % args.eval_every == 0:
            run.barrier()
    bar.close()
    say(f"done: {step} steps, best validation ELBO {best:.3f} nats per melody, checkpoints in {out}")
    run.close()
    return 0


VAE_CURVES = {"train_recon_nats": "train reconstruction", "train_kl_nats": "train KL",
              "val_recon_nats": "validation reconstruction", "val_kl_nats": "validation KL"}

if __name__ == "__main__":
    raise SystemExit(main())
