#!/usr/bin/env python
"""Train the neural synth (liveai.models.synth) on FluidSynth's rendering of the corpus.

    .venv/bin/python scripts/prepare_audio.py              # the audio, once
    .venv/bin/python scripts/train_synth.py --steps 4000   # a fresh synth: the linear form, 7 channels
    .venv/bin/python scripts/train_synth.py --resume auto
    .venv/bin/python scripts/train_synth.py --init models/synth.pt --cfg features=7 --hand-over 0:4
                                             # fine-tune with the new inputs, the decaying
                                             # excitation in the harmonic excitation's place
    torchrun --nproc-per-node 4 scripts/train_synth.py     # DDP, no code change

Each clip's features are built once, at the start, by the server's own code
(liveai.audio.features: the same voices, oscillators and noise the live engine
plays), and kept in memory as float16. A training example is a random `--crop-s`
window of a clip; the network first hears the receptive field before it (so its
state is warm, as live), and the loss is the multi-resolution STFT distance
(liveai.models.spectral) on the window. Validation scores fixed windows of the val
clips by the same distance and the log-spectral distance.

Shows a progress bar; logs to <out>/log.jsonl, draws <out>/learning_curve.png,
writes <out>/last.pt (with optimizer state) and <out>/best.pt, loadable with
liveai.models.checkpoint.load_checkpoint.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tqdm import tqdm  # noqa: E402
from train_continuation import parse_cfg  # noqa: E402
from training import start_run  # noqa: E402

from liveai.audio.features import features_of_notes  # noqa: E402
from liveai.models.checkpoint import build_model, plain_args, read_checkpoint, unwrap  # noqa: E402
from liveai.models.spectral import lsd, mrstft  # noqa: E402
from liveai.models.synth import SynthConfig, SynthNet  # noqa: E402
from liveai.music.note import Note  # noqa: E402


class Clips:
    """A split's clips: audio (float32) and features (float16), each clip from 0."""

    def __init__(
        self, paths: Sequence[Path], config: SynthConfig, limit: int | None = None, desc: str = ""
    ) -> None:
        self.audio: list[torch.Tensor] = []
        self.features: list[torch.Tensor] = []
        self.notes: list[list[Note]] = []
        for path in paths:
            self.read(path, config, limit, desc)
        self.lengths = np.array([len(a) for a in self.audio])

    def read(self, path: Path, config: SynthConfig, limit: int | None, desc: str) -> None:
        with np.load(path) as z:
            audio, starts, notes, counts = z["audio"], z["starts"], z["notes"], z["note_counts"]
            rate = int(z["sample_rate"])
        if rate != config.sample_rate:
            raise SystemExit(f"{path} is at {rate} Hz; the model at {config.sample_rate}")
        ends = np.append(starts[1:], len(audio))
        firsts = np.concatenate([[0], np.cumsum(counts)])
        n = len(starts) if limit is None else min(limit, len(starts))
        for i in tqdm(range(n), desc=f"features {desc} {path.parent.name}", unit="clip"):
            sound = torch.from_numpy(audio[starts[i] : ends[i]].astype(np.float32) / 32768.0)
            rows = notes[firsts[i] : firsts[i + 1]]
            clip_notes = [Note(float(s), float(e), int(p), int(v)) for s, e, p, v in rows]
            self.audio.append(sound)
            self.notes.append(clip_notes)
            self.features.append(features_of_notes(clip_notes, len(sound), config, seed=i)[0].half())

    def window(self, i: int, start: int, length: int, warmup: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(features (F, warmup + length), audio (length,)) of clip i from `start`; silence before 0."""
        feats = self.features[i]
        lo = start - warmup
        f = feats[:, max(lo, 0) : start + length].float()
        if lo < 0:
            f = torch.nn.functional.pad(f, (-lo, 0))
        return f, self.audio[i][start : start + length]

    def batch(
        self, size: int, length: int, warmup: int, rng: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        weights = np.maximum(self.lengths - length, 1).astype(np.float64)
        clips = rng.choice(len(self.audio), size=size, p=weights / weights.sum())
        feats, audio = [], []
        for i in clips:
            start = int(rng.integers(0, max(int(self.lengths[i]) - length, 1)))
            f, a = self.window(int(i), start, length, warmup)
            feats.append(f)
            audio.append(a)
        return torch.stack(feats), torch.stack(audio)


@torch.no_grad()
def grow_into(
    model: SynthNet, weights: dict[str, torch.Tensor], hand_over: Sequence[tuple[int, ...]] = ()
) -> None:
    """Load `weights` into `model`; where the model's input takes more features, the
    extra input columns start at zero (the network at first ignores them). Each
    (from, to) of `hand_over` then moves input channel `from`'s weights to `to`, so the
    network at first hears `to` where it heard `from`."""
    own = model.state_dict()
    for name, value in weights.items():
        value = value.float()
        if name == "inp.weight" and value.shape != own[name].shape:
            grown = torch.zeros_like(own[name])
            grown[:, : value.shape[1]] = value
            value = grown
        own[name] = value
    for source, target in hand_over:
        own["inp.weight"][:, target] = own["inp.weight"][:, source]
        own["inp.weight"][:, source] = 0.0
    model.load_state_dict(own)


@torch.no_grad()
def evaluate(
    model: SynthNet, windows: list[tuple[torch.Tensor, torch.Tensor]], warmup: int
) -> dict[str, float]:
    model.eval()
    stft, spectral = 0.0, 0.0
    for feats, audio in windows:
        out = model(feats[None])[:, warmup:]
        stft += float(mrstft(out, audio[None]))
        spectral += float(lsd(out, audio[None]))
    return {"mrstft": round(stft / len(windows), 4), "lsd_db": round(spectral / len(windows), 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--data",
        action="append",
        default=[],
        help="a folder of train.npz and val.npz (scripts/prepare_audio.py; default data/audio); "
        "given again, each one's train clips are added, the first one's val scores",
    )
    ap.add_argument("--out", default=str(ROOT / "runs" / "synth"))
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="a wall-clock budget: the schedule runs over whichever of it and --steps ends first",
    )
    ap.add_argument("--batch-size", type=int, default=8, help="per process")
    ap.add_argument("--crop-s", type=float, default=0.25)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr", type=float, default=5e-5)
    ap.add_argument("--cfg", action="append", default=[], help="model config field, e.g. channels=24")
    ap.add_argument("--train-clips", type=int, default=None, help="use only the first N (a quick run)")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--eval-windows", type=int, default=24)
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--resume", help="checkpoint to resume from, or 'auto' for <out>/last.pt if present")
    ap.add_argument(
        "--init",
        help="start from this synth's weights (a fresh run): its config, with --cfg "
        "changes; channels it lacks (more features) start at zero, so the start "
        "sounds as it does",
    )
    ap.add_argument(
        "--hand-over",
        action="append",
        default=[],
        metavar="FROM:TO",
        help="with --init: input channel TO takes channel FROM's weights, and FROM starts at "
        "zero (0:4: the decaying excitation in the harmonic excitation's place)",
    )
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    run = start_run(args.device, args.threads, Path(args.out))
    world, rank, device, main_proc, out, say = run.world, run.rank, run.device, run.main, run.out, run.say

    resume = out / "last.pt" if args.resume == "auto" and (out / "last.pt").exists() else args.resume
    ckpt = read_checkpoint(resume, "cpu") if resume and resume != "auto" else None
    init = read_checkpoint(args.init, "cpu") if args.init and ckpt is None else None
    if ckpt:
        cfg = {k: v for k, v in ckpt["config"].items() if k != "arch"}
    elif init:
        cfg = {**{k: v for k, v in init["config"].items() if k != "arch"}, **parse_cfg("synth", args.cfg)}
    else:  # a fresh synth: the linear form with all seven channels, unless told otherwise
        cfg = {**FRESH, **parse_cfg("synth", args.cfg)}
    torch.manual_seed(args.seed)  # the same first weights for the same seed
    model: Any = build_model("synth", cfg).to(device)
    if init is not None:
        grow_into(model, init["model"], [tuple(int(c) for c in pair.split(":")) for pair in args.hand_over])
        say(
            f"from {args.init}'s weights ({init['config'].get('features')} -> {model.config.features} "
            "features)"
        )
    config: SynthConfig = model.config
    warmup = model.receptive_field - 1
    length = round(args.crop_s * config.sample_rate)
    folders = [Path(d) for d in args.data] or [ROOT / "data" / "audio"]
    train = Clips([d / "train.npz" for d in folders], config, args.train_clips, "train")
    val = Clips([folders[0] / "val.npz"], config, desc="val")
    val_rng = np.random.default_rng(1234)  # the same windows at every evaluation
    val_windows = []
    for _ in range(args.eval_windows):
        f, a = val.batch(1, 2 * length, warmup, val_rng)
        val_windows.append((f[0].to(device), a[0].to(device)))

    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, wall_prior, best = 0, 0.0, float("inf")
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        if "optimizer" in ckpt:
            opt.load_state_dict(ckpt["optimizer"])
        step, wall_prior = int(ckpt["train_info"]["steps"]), float(ckpt["train_info"]["wall_time_s"])
        best = float(ckpt["train_info"].get("best_val_mrstft", float("inf")))
        say(f"resumed {resume} at step {step}")
    n_params = sum(p.numel() for p in model.parameters())
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    rng = np.random.default_rng(args.seed * 1000 + rank + 7919 * step)
    log_json = run.log

    def train_info(figures: dict[str, float]) -> dict[str, Any]:
        return {
            "steps": step,
            "wall_time_s": round(wall_prior + time.time() - t_start, 1),
            "params": n_params,
            "world_size": world,
            "device": str(device),
            "train_clips": len(train.audio),
            "train_seconds": round(float(train.lengths.sum()) / config.sample_rate, 1),
            "val": figures,
            "best_val_mrstft": best,
            "args": plain_args(args),
        }

    say(
        f"synth: {n_params / 1e3:.1f}k params, receptive field {warmup + 1} samples, "
        f"{train.lengths.sum() / config.sample_rate / 60:.1f} min of training audio, device {device}"
    )
    t_start = t_log = time.time()
    acc, n_acc = 0.0, 0
    bar = tqdm(
        total=args.steps, initial=step, desc="synth", unit="step", disable=not main_proc, smoothing=0.02
    )
    budget = args.minutes * 60 if args.minutes else float("inf")

    def progress_now() -> float:
        return max(step / max(args.steps, 1), (wall_prior + time.time() - t_start) / budget)

    while progress_now() < 1.0:
        progress = min(progress_now(), 1.0)
        lr = args.min_lr + 0.5 * (args.lr - args.min_lr) * (1 + math.cos(math.pi * progress))
        for g in opt.param_groups:
            g["lr"] = lr
        feats, audio = train.batch(args.batch_size, length, warmup, rng)
        model.train()
        pred = model(feats.to(device))[:, warmup:]
        loss = mrstft(pred, audio.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        bar.update(1)
        acc += loss.item()
        n_acc += 1
        if step % args.log_every == 0 and main_proc:
            rec = {
                "step": step,
                "train_mrstft": round(acc / n_acc, 4),
                "lr": lr,
                "steps_per_s": round(args.log_every / (time.time() - t_log), 3),
            }
            bar.set_postfix(mrstft=rec["train_mrstft"])
            log_json(rec)
            acc, n_acc, t_log = 0.0, 0, time.time()
        last = progress_now() >= 1.0
        if world > 1 and args.minutes:  # every rank stops at the same step: the first to run out of time
            flag = torch.tensor([float(last)], device=device)
            torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
            last = bool(flag.item())
        if (step % args.eval_every == 0 or last) and main_proc:
            figures = evaluate(unwrap(model), val_windows, warmup)
            improved = figures["mrstft"] < best
            best = min(best, figures["mrstft"])
            run.evaluated(
                step, figures, improved, model, train_info(figures), opt, bar, "synth", SYNTH_CURVES
            )
        if step % args.eval_every == 0 or last:
            run.barrier()
        if last:
            break
    bar.close()
    say(f"done: {step} steps, best validation MR-STFT {best:.4f}, checkpoints in {out}")
    run.close()
    return 0


FRESH = {"features": 7, "linear": True}
SYNTH_CURVES = {"train_mrstft": "train MR-STFT", "val_mrstft": "validation MR-STFT"}

if __name__ == "__main__":
    raise SystemExit(main())
