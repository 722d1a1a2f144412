#!/usr/bin/env python
"""Train the harmony model (liveai.models.harmony) on melodies with their real harmony.

    .venv/bin/python scripts/prepare_harmony.py                  # once: data/harmony/*.npz
    .venv/bin/python scripts/train_harmony.py --steps 3000
    torchrun --nproc-per-node 4 scripts/train_harmony.py         # DDP, no code change

Data: Bach's chorales and POP909 (scripts/prepare_harmony.py), windows of --seq-len
melody notes drawn half from each source. The target at each note is the real
voicing reduced to the asked voice count (1-3, drawn per window) and its largest
consonant part (liveai.music.voicing.voicing_of); the vocabulary is the --voicings most
frequent targets in training. Each window is played anew: transposed by -6..+5
semitones (the octave input moves; the rest is written relative to the key), its beat
positions jittered as a player's onsets are (a performance of the score, as
liveai.data.performance's styles are), or unknown (no clock) in a third of them.

Shows a progress bar with its ETA; logs train loss and validation NLL per source to
<out>/log.jsonl and draws <out>/learning_curve.png; writes <out>/last.pt and
<out>/best.pt (best mean validation NLL); stops early after --patience evaluations
without improvement. Checkpoints load with liveai.models.checkpoint.load_checkpoint.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tqdm import tqdm  # noqa: E402
from training import start_run  # noqa: E402

from liveai.data import harmony  # noqa: E402
from liveai.models import harmony as hm  # noqa: E402
from liveai.models.checkpoint import build_model, plain_args, unwrap  # noqa: E402
from liveai.music.voicing import Voicing, voicing_of  # noqa: E402

SOURCES = ("chorales", "pop909")
CURVES = {
    **{f"train_{s}_loss": f"train loss, {s}" for s in SOURCES},
    **{f"val_{s}_nll": f"validation NLL, {s}" for s in SOURCES},
}
IGNORE = -100


def real_voicings(piece: harmony.HarmonyPiece, voices: int) -> list[Voicing]:
    return [
        voicing_of(int(m), [int(p) for p in r if p >= 0], voices) for m, r in zip(piece.melody, piece.real)
    ]


def build_vocab(pieces: list[harmony.HarmonyPiece], size: int) -> list[Voicing]:
    counts: Counter[Voicing] = Counter()
    for piece in pieces:
        for voices in (1, 2, 3):
            counts.update(v for v in real_voicings(piece, voices) if v)
    return [v for v, _ in counts.most_common(size)]


class Rows:
    """One source's pieces as arrays: melody, previous melody, onsets, key, and the
    target voicing's index per voice count (IGNORE when it is not in the vocabulary)."""

    def __init__(self, pieces: list[harmony.HarmonyPiece], vocab: list[Voicing]) -> None:
        index = {v: i for i, v in enumerate(vocab)}
        self.pieces = [p for p in pieces if len(p.melody) >= 2]
        # (3, N) each
        self.targets = [
            np.array([[index.get(v, IGNORE) for v in real_voicings(p, n)] for n in (1, 2, 3)])
            for p in self.pieces
        ]
        self.n_voicings = len(vocab)
        lengths = np.array([len(p.melody) for p in self.pieces], dtype=np.float64)
        self.weights = lengths / lengths.sum()

    def window(
        self, i: int, start: int, length: int, voices: int, rng: np.random.Generator | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(features (T, N_FEATURES), targets (T,)) of piece i from `start`; with `rng`, played anew."""
        p = self.pieces[i]
        stop = min(start + length, len(p.melody))
        melody = p.melody[start:stop].astype(np.int64)
        before = np.concatenate([[-1 if start == 0 else p.melody[start - 1]], melody[:-1]]).astype(np.int64)
        onsets: np.ndarray | None = p.onset_q[start:stop]
        shift = 0
        if rng is not None:
            shift = int(rng.integers(-6, 6))
            onsets = None if rng.random() < 1 / 3 else onsets + rng.normal(0.0, 0.04, len(melody))
        beat = np.array(
            [
                hm.beat_of(None if onsets is None else float(t))
                for t in (onsets if onsets is not None else melody)
            ]
        )
        target = self.targets[i][voices - 1, start:stop]
        previous = np.concatenate(
            [[IGNORE if start == 0 else self.targets[i][voices - 1, start - 1]], target[:-1]]
        )
        previous = np.where(previous < 0, self.n_voicings, previous)
        x = hm.features(
            melody + shift, (p.tonic + shift) % 12, p.minor, before + shift, beat, voices, previous
        )
        return x, target

    def batch(self, size: int, length: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        xs = np.zeros((size, length, hm.N_FEATURES), dtype=np.int64)
        ys = np.full((size, length), IGNORE, dtype=np.int64)
        for b in range(size):
            i = int(rng.choice(len(self.pieces), p=self.weights))
            start = int(rng.integers(0, max(1, len(self.pieces[i].melody) - length // 2)))
            x, y = self.window(i, start, length, int(rng.integers(1, 4)), rng)
            xs[b, : len(x)], ys[b, : len(y)] = x, y
        return torch.from_numpy(xs), torch.from_numpy(ys)


@torch.no_grad()
def evaluate(model: hm.HarmonyModel, rows: Rows, device: torch.device) -> dict[str, float]:
    """NLL (nats per chord) and top-1 accuracy over whole pieces, each voice count, beats as scored."""
    model.eval()
    nll, right, count = 0.0, 0, 0
    for i, piece in enumerate(rows.pieces):
        for voices in (1, 2, 3):
            x, y = rows.window(i, 0, len(piece.melody), voices, None)
            logits = model(torch.from_numpy(x)[None].to(device))[0]
            target = torch.from_numpy(y).to(device)
            keep = target != IGNORE
            nll += float(F.cross_entropy(logits[keep], target[keep], reduction="sum"))
            right += int((logits[keep].argmax(-1) == target[keep]).sum())
            count += int(keep.sum())
    model.train()
    return {"nll": nll / max(count, 1), "accuracy": right / max(count, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT / "data" / "harmony"))
    ap.add_argument("--out", default=str(ROOT / "runs" / "harmony"))
    ap.add_argument("--voicings", type=int, default=512, help="vocabulary: the most frequent voicings")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch-size", type=int, default=32, help="per process")
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--patience", type=int, default=4, help="evaluations without improvement before stopping")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    run = start_run(args.device, args.threads, Path(args.out))
    data = Path(args.data)
    train = {s: harmony.load(data / f"{s}_train.npz") for s in SOURCES}
    vocab = build_vocab([p for s in SOURCES for p in train[s]], args.voicings)
    train_rows = {s: Rows(train[s], vocab) for s in SOURCES}
    val_rows = {s: Rows(harmony.load(data / f"{s}_val.npz"), vocab) for s in SOURCES}
    run.say(
        f"{len(vocab)} voicings; train pieces {[len(r.pieces) for r in train_rows.values()]}, "
        f"val {[len(r.pieces) for r in val_rows.values()]}"
    )
    torch.manual_seed(args.seed)
    model = build_model("harmony", {"voicings": [list(v) for v in vocab], "hidden": args.hidden}).to(
        run.device
    )
    bare = model
    if run.world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.steps, eta_min=args.lr / 20)
    rng = np.random.default_rng(args.seed + run.rank)
    best, stale, started = math.inf, 0, time.time()
    bar = tqdm(total=args.steps, desc="harmony", unit="step", disable=not run.main, smoothing=0.05)
    for step in range(1, args.steps + 1):
        source = SOURCES[step % 2]
        x, y = train_rows[source].batch(args.batch_size, args.seq_len, rng)
        logits = model(x.to(run.device))
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), y.to(run.device).reshape(-1), ignore_index=IGNORE
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}")
        if step % 25 in (0, 1):  # one batch of each source
            run.log({"step": step, f"train_{source}_loss": loss.item()})
        if step % args.eval_every and step != args.steps:
            continue
        stop = False
        if run.main:
            figures: dict[str, float] = {}
            for s, rows in val_rows.items():
                for k, v in evaluate(unwrap(model), rows, run.device).items():
                    figures[f"{s}_{k}"] = v
            figures["nll"] = (figures["chorales_nll"] + figures["pop909_nll"]) / 2
            improved = figures["nll"] < best
            best, stale = (figures["nll"], 0) if improved else (best, stale + 1)
            info: dict[str, Any] = {
                "steps": step,
                "val": figures,
                "args": plain_args(args),
                "seconds": round(time.time() - started),
                "sources": list(SOURCES),
            }
            run.evaluated(
                step,
                figures,
                improved,
                bare,
                info,
                optimizer,
                bar,
                "harmony model",
                CURVES,
                unit="nats per chord",
            )
            stop = stale >= args.patience
        if run.world > 1:
            flag = torch.tensor([float(stop)], device=run.device)
            torch.distributed.broadcast(flag, 0)
            stop = bool(flag.item())
        if stop:
            run.say(f"early stop at step {step}: no improvement in {args.patience} evaluations")
            break
    bar.close()
    run.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
