#!/usr/bin/env python
"""Train a continuation model (GRU or Transformer) on prepared data (scripts/prepare_data.py).

    .venv/bin/python scripts/train_continuation.py --arch gru --steps 6000
    .venv/bin/python scripts/train_continuation.py --arch transformer --cfg window=512 --resume auto
    torchrun --nproc-per-node 4 scripts/train_continuation.py --arch transformer   # DDP, no code change

Every training window is a new performance of a passage (`--augment performance`,
liveai.data.windows): scores played in a random style, played MIDI restyled, all
transposed. `--augment tokens` is the first models' recipe (canonical tokens
transposed and stretched), `none` the canonical tokens as they are.

Shows a progress bar; logs train loss and validation NLL (bits per event) to
<out>/log.jsonl and draws them in <out>/learning_curve.png; writes <out>/last.pt (with
optimizer state, for --resume) and <out>/best.pt (best validation), both loadable with
liveai.models.checkpoint.load_checkpoint.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from plots import learning_curve  # noqa: E402
from tqdm import tqdm  # noqa: E402
from training import start_run  # noqa: E402

from liveai.data.augment import Augment  # noqa: E402
from liveai.data.corpus import load_pieces  # noqa: E402
from liveai.data.evaluate import model_bits  # noqa: E402
from liveai.data.shards import load_meta, load_split  # noqa: E402
from liveai.data.windows import PerformanceWindows, TokenWindows  # noqa: E402
from liveai.learn.loop import Loop, LoopState, Schedule, make_optimizer  # noqa: E402
from liveai.learn.measure import split_sets  # noqa: E402
from liveai.models import codec  # noqa: E402
from liveai.models.checkpoint import ARCHS, build_model, plain_args, read_checkpoint, save_checkpoint, unwrap  # noqa: E402


def parse_cfg(arch: str, items: list[str]) -> dict[str, Any]:
    """`--cfg key=value` pairs typed by the arch's config dataclass."""
    cfg_cls = ARCHS[arch][0]
    types = {f.name: f.type for f in dataclasses.fields(cfg_cls)}
    out: dict[str, Any] = {}
    for item in items:
        key, _, value = item.partition("=")
        if key not in types:
            raise SystemExit(f"--cfg: {arch} has no field {key!r} (fields: {', '.join(types)})")
        t = types[key]
        out[key] = float(value) if t in ("float", float) else int(value)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=sorted(ARCHS), required=True)
    ap.add_argument("--cfg", action="append", default=[], help="model config field, e.g. hidden=384")
    ap.add_argument("--data", default=str(ROOT / "data" / "corpus"))
    ap.add_argument("--out", help="run directory (default runs/<arch>)")
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--batch-size", type=int, default=32, help="per process")
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr", type=float, default=1e-4)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--grad-clip", type=float, default=1.0)
    ap.add_argument("--augment", choices=["performance", "tokens", "none"], default="performance")
    ap.add_argument(
        "--played-share",
        type=float,
        default=0.5,
        help="with --augment performance: the share of windows from played MIDI (POP909)",
    )
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--eval-events", type=int, default=100_000, help="validation events per evaluation")
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--resume", help="checkpoint to resume from, or 'auto' for <out>/last.pt if present")
    ap.add_argument(
        "--init",
        help="start from this checkpoint's weights (e.g. a shipped model), with a new "
        "optimizer and schedule; its config is kept",
    )
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads per process")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    run = start_run(args.device, args.threads, Path(args.out or ROOT / "runs" / args.arch))
    world, rank, device, main_proc, out, say = run.world, run.rank, run.device, run.main, run.out, run.say

    torch.manual_seed(args.seed)
    train = load_split(args.data, "train", mmap=True)
    val_sets = split_sets(Path(args.data), "val", args.eval_events)
    val_pieces = [p for pieces in val_sets.values() for p in pieces]
    meta = load_meta(args.data)
    if meta.get("vocab") != codec.describe_vocab():
        raise SystemExit(f"{args.data} was prepared with another vocabulary; rerun prepare_data.py")

    resume_path = None
    if args.resume == "auto":
        resume_path = out / "last.pt" if (out / "last.pt").exists() else None
    elif args.resume:
        resume_path = Path(args.resume)
    ckpt = read_checkpoint(resume_path, "cpu") if resume_path else None
    init = read_checkpoint(args.init, "cpu") if args.init and ckpt is None else None
    if ckpt is not None or init is not None:
        source = ckpt if ckpt is not None else init
        assert source is not None
        cfg = {k: v for k, v in source["config"].items() if k != "arch"}
        if source["config"]["arch"] != args.arch:
            raise SystemExit(f"checkpoint is a {source['config']['arch']}, not a {args.arch}")
    else:
        cfg = parse_cfg(args.arch, args.cfg)
    model = build_model(args.arch, cfg).to(device)
    if init is not None:
        model.load_state_dict({k: v.float() for k, v in init["model"].items()})
        say(
            f"initialised from {args.init} (its training: {init.get('train_info', {}).get('steps', '?')} "
            "steps)"
        )
    n_params = sum(p.numel() for p in model.parameters())
    opt = make_optimizer(model, args.lr, args.weight_decay)
    state = LoopState()
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        info = ckpt["train_info"]
        state.step, state.elapsed_prior = int(info["steps"]), float(info["wall_time_s"])
        state.tokens = int(info.get("tokens_seen", 0)) // world
        state.best = float(info.get("best_val_bits_per_event", float("inf")))
        say(f"resumed {resume_path} at step {state.step}")
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )

    seed = args.seed * 1000 + rank + 7919 * state.step  # each rank, and each resume, draws its own windows
    sampler: PerformanceWindows | TokenWindows
    if args.augment == "performance":
        sampler = PerformanceWindows(
            load_pieces(Path(args.data) / "train_pieces.npz"),
            args.seq_len,
            np.random.default_rng(seed),
            played_share=args.played_share,
        )
    else:
        sampler = TokenWindows(
            train.tokens, args.seq_len, seed=seed, aug=Augment() if args.augment == "tokens" else None
        )

    def train_info(val_bpe: float | None) -> dict[str, Any]:
        return {
            "steps": state.step,
            "wall_time_s": round(state.elapsed_s, 1),
            "tokens_seen": state.tokens * world,
            "val_bits_per_event": val_bpe,
            "best_val_bits_per_event": state.best,
            "val_events": sum(len(p) - 1 for p in val_pieces),
            "params": n_params,
            "world_size": world,
            "device": str(device),
            "data": {"dir": str(args.data), "source": meta.get("source"), "splits": meta.get("splits")},
            "args": plain_args(args),
            "initialised_from": str(args.init)
            if args.init
            else (ckpt or {}).get("train_info", {}).get("initialised_from"),
        }

    say(f"{args.arch}: {n_params / 1e6:.2f}M params, config {cfg}, world {world}, device {device}")
    say(f"train tokens {len(train.tokens)}, val events per eval {sum(len(p) - 1 for p in val_pieces)}")
    bar = tqdm(
        total=args.steps,
        initial=state.step,
        desc=args.arch,
        unit="step",
        disable=not main_proc,
        smoothing=0.02,
    )
    per_set: dict[str, float] = {}

    def evaluate() -> float | None:
        if not main_proc:
            return None
        for name, pieces in val_sets.items():
            bits, n = model_bits(unwrap(model), pieces)
            per_set[name] = round(bits / n, 4)
        return round(sum(per_set.values()) / len(per_set), 4)  # each kind of music counts alike

    def on_eval(state: LoopState, val_bpe: float | None, improved: bool) -> None:
        if main_proc:
            rec = {
                "step": state.step,
                "val_bits_per_event": val_bpe,
                "best": improved,
                **{f"val_{name}_bits_per_event": v for name, v in per_set.items()},
            }
            bar.write(json.dumps(rec))
            run.log(rec)
            learning_curve(out / "log.jsonl", out / "learning_curve.png", title=f"{args.arch}, {out.name}")
            info = train_info(val_bpe)
            save_checkpoint(out / "last.pt", model, info, extra={"optimizer": opt.state_dict()})
            if improved:
                save_checkpoint(out / "best.pt", model, info)
        run.barrier()

    def on_log(state: LoopState, rec: dict[str, float]) -> None:
        if main_proc:
            bar.set_postfix(train_bits=rec["train_bits_per_event"], lr=f"{rec['lr']:.1e}")
            run.log(rec)

    loop = Loop(
        model,
        opt,
        Schedule(args.lr, args.min_lr, args.warmup, args.steps),
        lambda: sampler.batch(args.batch_size),
        evaluate,
        on_eval,
        device,
        eval_every=args.eval_every,
        log_every=args.log_every,
        grad_clip=args.grad_clip,
        on_log=on_log,
        on_step=lambda state: bar.update(1),
    )
    if state.step < args.steps:
        loop.run(state)
    bar.close()
    say(f"done: {state.step} steps, best val {state.best:.4f} bits/event, checkpoints in {out}")
    run.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
