#!/usr/bin/env python
"""The morph model's card figures: reconstruction and interpolation on the test split.

    .venv/bin/python scripts/eval_vae.py [--model models/vae.pt] [--pairs 200] [--out models/vae_eval]

- Reconstruction of every test melody from mu: accuracy per step and per note (steps
  where a note starts), teacher forced and decoded greedily; KL per dimension.
- Interpolation on `--pairs` random test pairs (a, b), at 9 points x = 0, 1/8 .. 1:
  the VAE decodes slerp(z_a, z_b, x) greedily; the naive baseline takes each step from
  b with probability x, else from a. Two distances: Hamming, the share of the 32 steps
  that differ; and edit, the fewest single-step insertions, deletions and changes from
  one to the other over 32 (a note moved by a 16th costs two edits, where Hamming
  counts every step after it).
  - monotonic: the share of neighbouring points where the distance to a does not fall
    and the distance to b does not rise;
  - smoothness: the mean distance between neighbouring points, and the path length
    (their sum) over d(a, b) (1 is a straight walk; lower is smoother);
  - in key: the share of points whose Krumhansl-Schmuckler key is a's or b's;
  - endpoints: the distance of the points at 0 and 1 to a and b. The live loop plays
    the captured phrases themselves there, so the VAE path is scored as it plays
    (endpoints as played) and also as decoded.
Writes <out>.json, <out>.md and <out>.png (one pair's interpolation as piano rolls).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from train_vae import evaluate, load_melodies  # noqa: E402

from liveai.models import melody  # noqa: E402
from liveai.models.checkpoint import load_checkpoint  # noqa: E402
from liveai.models.vae import MelodyVAE, slerp  # noqa: E402
from liveai.music.tonality import estimate_key  # noqa: E402

POINTS = 9


def hamming(p: np.ndarray, q: np.ndarray) -> float:
    return float(np.mean(p != q))


def edit(p: np.ndarray, q: np.ndarray) -> float:
    """Levenshtein distance over the steps, divided by their number."""
    a, b = p.tolist(), q.tolist()
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1] / max(len(a), 1)


DISTANCES = {"hamming": hamming, "edit": edit}


def key_of(tokens: np.ndarray) -> str | None:
    key = estimate_key(melody.to_notes(tokens.tolist(), 0.0, 0.125))
    return None if key is None else key.name


def naive(a: np.ndarray, b: np.ndarray, xs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.stack([np.where(rng.random(len(a)) < x, b, a) for x in xs])


@torch.no_grad()
def vae_path(model: MelodyVAE, a: np.ndarray, b: np.ndarray, xs: np.ndarray) -> np.ndarray:
    mu, _ = model.encode(torch.from_numpy(np.stack([a, b]).astype(np.int64)))
    return model.decode(slerp(mu[0], mu[1], torch.from_numpy(xs).float())).numpy()


def path_figures(paths: list[tuple[np.ndarray, np.ndarray, np.ndarray]], distance: Any) -> dict[str, float]:
    mono, steps, ratios, keys, end_a, end_b = [], [], [], [], [], []
    for a, b, points in paths:
        da = [distance(p, a) for p in points]
        db = [distance(p, b) for p in points]
        neighbours = [distance(points[i], points[i + 1]) for i in range(len(points) - 1)]
        mono += [float(da[i + 1] >= da[i] and db[i + 1] <= db[i]) for i in range(len(points) - 1)]
        steps += neighbours
        ratios.append(sum(neighbours) / max(distance(a, b), 1e-9))
        wanted = {key_of(a), key_of(b)}
        keys += [float(key_of(p) in wanted) for p in points]
        end_a.append(da[0])
        end_b.append(db[-1])
    return {"monotonic": round(float(np.mean(mono)), 4), "neighbour_distance": round(float(np.mean(steps)), 4),
            "path_length_over_distance": round(float(np.mean(ratios)), 3), "in_key_of_a_or_b": round(float(np.mean(keys)), 4),
            "endpoint_distance_a": round(float(np.mean(end_a)), 4), "endpoint_distance_b": round(float(np.mean(end_b)), 4)}


def piano_rolls(a: np.ndarray, b: np.ndarray, vae: np.ndarray, base: np.ndarray, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, POINTS, figsize=(16, 4.6), dpi=100, sharey=True)
    pitches = [t for t in np.concatenate([a, b]) if t < 128]
    low, high = min(pitches) - 3, max(pitches) + 3
    for row, (label, points) in enumerate((("VAE (slerp)", vae), ("naive baseline", base))):
        for i, tokens in enumerate(points):
            ax = axes[row, i]
            for n in melody.to_notes(tokens.tolist(), 0.0, 1.0):
                ax.add_patch(plt.Rectangle((n.start, n.pitch - 0.4), n.end - n.start, 0.8, color=f"C{row}"))
            ax.set_xlim(0, melody.STEPS)
            ax.set_ylim(low, high)
            ax.set_xticks([0, 16, 32])
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(f"x = {i / (POINTS - 1):.3g}", fontsize=9)
        axes[row, 0].set_ylabel(f"{label}\npitch")
    fig.suptitle("From phrase a (left) to phrase b (right): two bars, 16th steps")
    fig.tight_layout()
    fig.savefig(png)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "models" / "vae.pt"))
    ap.add_argument("--data", default=str(ROOT / "data" / "corpus"))
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "models" / "vae_eval"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    model, info = load_checkpoint(args.model, "cpu", archs=("vae",))
    test = load_melodies(Path(args.data), "test")
    print(f"reconstructing {len(test)} test melodies", flush=True)
    recon = evaluate(model, test)  # type: ignore[arg-type]
    rng = np.random.default_rng(args.seed)
    xs = np.linspace(0, 1, POINTS)
    decoded_paths, vae_paths, naive_paths = [], [], []
    for _ in tqdm(range(args.pairs), desc="interpolations", unit="pair"):
        i, j = rng.choice(len(test), 2, replace=False)
        a, b = test[i].astype(np.int64), test[j].astype(np.int64)
        decoded = vae_path(model, a, b, xs)  # type: ignore[arg-type]
        decoded_paths.append((a, b, decoded))
        vae_paths.append((a, b, np.concatenate([a[None], decoded[1:-1], b[None]])))  # as the loop plays it
        naive_paths.append((a, b, naive(a, b, xs, rng)))
    report = {"model": args.model, "train_info": {k: info["train_info"].get(k) for k in ("steps", "wall_time_s", "params", "train_melodies")},
              "test_melodies": len(test), "reconstruction": recon, "pairs": args.pairs, "points": POINTS,
              "interpolation": {name: {"vae (endpoints as played)": path_figures(vae_paths, d),
                                       "vae (decoded endpoints)": path_figures(decoded_paths, d),
                                       "naive": path_figures(naive_paths, d)}
                                for name, d in DISTANCES.items()}}
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    rows = []
    for name, by_path in report["interpolation"].items():
        paths = list(by_path)
        rows += [f"| {name} distance, {args.pairs} test pairs x {POINTS} points | " + " | ".join(paths) + " |",
                 "|---" * (len(paths) + 1) + "|"]
        for key in by_path["naive"]:
            rows.append(f"| {key.replace('_', ' ')} | " + " | ".join(str(by_path[p][key]) for p in paths) + " |")
        rows.append("")
    out.with_suffix(".md").write_text("\n".join(rows))
    a, b, vae_points = decoded_paths[0]
    piano_rolls(a, b, vae_points, naive_paths[0][2], out.with_suffix(".png"))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
