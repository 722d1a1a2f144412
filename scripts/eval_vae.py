#!/usr/bin/env python
"""The morph model's card figures: reconstruction and interpolation on the test split.

    .venv/bin/python scripts/eval_vae.py [--model models/vae.pt] [--pairs 200] [--out models/vae_eval]
    .venv/bin/python scripts/eval_vae.py --tune 0,1,1.5,2,2.5,3,4,5     # morph.lean, on validation pairs

- Reconstruction of every test melody from mu: accuracy per step and per note (steps
  where a note starts), teacher forced and decoded greedily; KL per dimension.
- Interpolation on `--pairs` random test pairs (a, b), at 9 points x = 0, 1/8 .. 1:
  - the VAE as the live loop plays it: the grid of `morph.steps` (17) points on
    slerp(z_a, z_b, x), decoded with the fewest changes along the path, each step
    within `morph.lean` nats of the best (`MelodyVAE.decode_path`), the captured phrases
    themselves at 0 and 1; the 9 points
    are grid points;
  - the VAE decoded plainly greedily at the 9 points, with the phrases at 0 and 1 and
    with the decoded endpoints;
  - the naive baseline: each step from b with probability x, else from a. Two distances: Hamming, the share
  of the 32 steps
  that differ; and edit, the fewest single-step insertions, deletions and changes from
  one to the other over 32 (a note moved by a 16th costs two edits, where Hamming
  counts every step after it).
  - monotonic: the share of neighbouring points where the distance to a does not fall
    and the distance to b does not rise;
  - smoothness: the mean distance between neighbouring points, and the path length
    (their sum) over d(a, b) (1 is a straight walk; lower is smoother); and the
    largest step of each path (a path can be smooth on average and jump once);
  - in key: the share of points whose Krumhansl-Schmuckler key is a's or b's;
  - endpoints: the distance of the points at 0 and 1 to a and b. The live loop plays
    the captured phrases themselves there, so the VAE path is scored as it plays
    (endpoints as played) and also as decoded.
Writes <out>.json, <out>.md, <out>.png (one pair's interpolation as piano rolls) and
<out>_kl.png (KL of each latent dimension). `--tune` scores leans on validation pairs
instead and writes <out>_lean.json and .md.
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

from liveai.config import Config  # noqa: E402
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
def latents(model: MelodyVAE, a: np.ndarray, b: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    mu, _ = model.encode(torch.from_numpy(np.stack([a, b]).astype(np.int64)))
    return mu[0], mu[1]


@torch.no_grad()
def greedy_path(model: MelodyVAE, a: np.ndarray, b: np.ndarray, xs: np.ndarray) -> np.ndarray:
    za, zb = latents(model, a, b)
    return model.decode(slerp(za, zb, torch.from_numpy(xs).float())).numpy()


def played_path(model: MelodyVAE, a: np.ndarray, b: np.ndarray, steps: int, lean: float) -> np.ndarray:
    """The 9 points as the live loop plays them: grid points of the desk's grid."""
    stride = (steps - 1) // (POINTS - 1)
    za, zb = latents(model, a, b)
    grid = np.asarray(
        model.decode_points(za, zb, np.linspace(0, 1, steps).tolist(), a.tolist(), b.tolist(), lean)
    )
    grid[0], grid[-1] = a, b  # the desk plays the captured phrases at the ends
    return grid[::stride]


def path_figures(paths: list[tuple[np.ndarray, np.ndarray, np.ndarray]], distance: Any) -> dict[str, float]:
    mono, steps, ratios, keys, end_a, end_b, largest = [], [], [], [], [], [], []
    for a, b, points in paths:
        da = [distance(p, a) for p in points]
        db = [distance(p, b) for p in points]
        neighbours = [distance(points[i], points[i + 1]) for i in range(len(points) - 1)]
        mono += [float(da[i + 1] >= da[i] and db[i + 1] <= db[i]) for i in range(len(points) - 1)]
        steps += neighbours
        largest.append(max(neighbours))
        ratios.append(sum(neighbours) / max(distance(a, b), 1e-9))
        wanted = {key_of(a), key_of(b)}
        keys += [float(key_of(p) in wanted) for p in points]
        end_a.append(da[0])
        end_b.append(db[-1])
    return {
        "monotonic": round(float(np.mean(mono)), 4),
        "neighbour_distance": round(float(np.mean(steps)), 4),
        "path_length_over_distance": round(float(np.mean(ratios)), 3),
        "largest_neighbour_distance": round(float(np.mean(largest)), 4),
        "in_key_of_a_or_b": round(float(np.mean(keys)), 4),
        "endpoint_distance_a": round(float(np.mean(end_a)), 4),
        "endpoint_distance_b": round(float(np.mean(end_b)), 4),
    }


def piano_rolls(a: np.ndarray, b: np.ndarray, rows: dict[str, np.ndarray], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(rows), POINTS, figsize=(16, 2.3 * len(rows)), dpi=100, sharey=True)
    pitches = [t for t in np.concatenate([a, b]) if t < 128]
    low, high = min(pitches) - 3, max(pitches) + 3
    for row, (label, points) in enumerate(rows.items()):
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
        axes[row, 0].set_ylabel(f"{label}\npitch", fontsize=8)
    fig.suptitle("From phrase a (left) to phrase b (right): two bars, 16th steps")
    fig.tight_layout()
    fig.savefig(png)
    plt.close(fig)


def kl_chart(kl: list[float], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 3), dpi=100)
    ax.bar(range(len(kl)), sorted(kl, reverse=True), color="C0")
    ax.axhline(0.05, color="C3", lw=0.8, label="0.05 nats (a dimension in use)")
    ax.set_xlabel("latent dimension, by its KL")
    ax.set_ylabel("KL (nats), test mean")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(png)
    plt.close(fig)


def markdown(figures: dict[str, dict[str, dict[str, float]]], title: str) -> str:
    rows = []
    for name, by_path in figures.items():
        paths = list(by_path)
        rows += [f"| {name} distance, {title} | " + " | ".join(paths) + " |", "|---" * (len(paths) + 1) + "|"]
        for key in next(iter(by_path.values())):
            rows.append(
                f"| {key.replace('_', ' ')} | " + " | ".join(str(by_path[p][key]) for p in paths) + " |"
            )
        rows.append("")
    return "\n".join(rows)


def pairs_of(
    melodies: np.ndarray, count: int, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray]]:
    pairs = []
    for _ in range(count):
        i, j = rng.choice(len(melodies), 2, replace=False)
        pairs.append((melodies[i].astype(np.int64), melodies[j].astype(np.int64)))
    return pairs


def tune(
    model: MelodyVAE, data: Path, leans: list[float], count: int, steps: int, seed: int, out: Path
) -> int:
    """Score each lean on validation pairs (the test split stays for the card)."""
    pairs = pairs_of(load_melodies(data, "val"), count, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    paths: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    paths["naive"] = [(a, b, naive(a, b, np.linspace(0, 1, POINTS), rng)) for a, b in pairs]
    for lean in leans:
        paths[f"lean {lean:g}"] = [
            (a, b, played_path(model, a, b, steps, lean))
            for a, b in tqdm(pairs, desc=f"lean {lean:g}", unit="pair")
        ]
    figures = {
        name: {label: path_figures(p, d) for label, p in paths.items()} for name, d in DISTANCES.items()
    }
    out = out.with_name(out.name + "_lean")
    out.with_suffix(".json").write_text(
        json.dumps({"split": "val", "pairs": count, "steps": steps, "figures": figures}, indent=2) + "\n"
    )
    out.with_suffix(".md").write_text(markdown(figures, f"{count} validation pairs x {POINTS} points"))
    print(markdown(figures, f"{count} validation pairs"))
    return 0


def main(argv: list[str] | None = None) -> int:
    morph = Config().morph
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "models" / "vae.pt"))
    ap.add_argument("--data", default=str(ROOT / "data" / "corpus"))
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lean", type=float, default=morph.lean, help="nats (morph.lean)")
    ap.add_argument("--steps", type=int, default=morph.steps, help="the grid's points (morph.steps)")
    ap.add_argument("--tune", default="", help="comma-separated leans to score on validation pairs")
    ap.add_argument("--out", default=str(ROOT / "models" / "vae_eval"))
    args = ap.parse_args(argv)
    if (args.steps - 1) % (POINTS - 1):
        ap.error(f"--steps {args.steps}: the {POINTS} points must be grid points (steps = 8k + 1)")
    torch.set_num_threads(1)
    model, info = load_checkpoint(args.model, "cpu", archs=("vae",))
    out = Path(args.out)
    if args.tune:
        return tune(
            model,
            Path(args.data),
            [float(v) for v in args.tune.split(",")],
            args.pairs,  # type: ignore[arg-type]
            args.steps,
            args.seed,
            out,
        )
    test = load_melodies(Path(args.data), "test")
    print(f"reconstructing {len(test)} test melodies", flush=True)
    recon = evaluate(model, test, per_dim=True)  # type: ignore[arg-type]
    rng = np.random.default_rng(args.seed)
    xs = np.linspace(0, 1, POINTS)
    played = f"vae as played (lean {args.lean:g})"
    paths: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {
        played: [],
        "vae greedy, endpoints as played": [],
        "vae greedy, decoded endpoints": [],
        "naive": [],
    }
    for a, b in tqdm(pairs_of(test, args.pairs, rng), desc="interpolations", unit="pair"):
        decoded = greedy_path(model, a, b, xs)  # type: ignore[arg-type]
        paths[played].append((a, b, played_path(model, a, b, args.steps, args.lean)))  # type: ignore[arg-type]
        paths["vae greedy, endpoints as played"].append(
            (a, b, np.concatenate([a[None], decoded[1:-1], b[None]]))
        )
        paths["vae greedy, decoded endpoints"].append((a, b, decoded))
        paths["naive"].append((a, b, naive(a, b, xs, rng)))
    figures = {
        name: {label: path_figures(p, d) for label, p in paths.items()} for name, d in DISTANCES.items()
    }
    report = {
        "model": args.model,
        "train_info": {
            k: info["train_info"].get(k) for k in ("steps", "wall_time_s", "params", "train_melodies")
        },
        "test_melodies": len(test),
        "reconstruction": recon,
        "pairs": args.pairs,
        "points": POINTS,
        "lean": args.lean,
        "grid_steps": args.steps,
        "interpolation": figures,
    }
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(figures, f"{args.pairs} test pairs x {POINTS} points"))
    a, b, _ = paths["naive"][0]
    piano_rolls(
        a,
        b,
        {label: p[0][2] for label, p in paths.items() if label != "vae greedy, endpoints as played"},
        out.with_suffix(".png"),
    )
    kl_chart(recon["kl_per_dim"], out.with_name(out.name + "_kl.png"))
    print(json.dumps({k: v for k, v in report.items() if k != "reconstruction"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
