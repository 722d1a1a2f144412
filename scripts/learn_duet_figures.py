#!/usr/bin/env python
"""The duet before and after `liveai learn`: scripts/eval_duet.py on the 15 files each
study of scripts/learn_figures.py kept apart, with the base model and the learned one.

    nice -n 10 .venv/bin/python scripts/learn_duet_figures.py \\
        --out docs/figures/2026-12-07-learn-duet.json

The same phrases and seeds for every model (eval_duet's --folder, --seed, --per-file).
Each --set (a duet setting, as eval_duet takes it, e.g. rhythm=free: the model's own
rhythm, not the call's grid) is a duet of its own beside the default one. A run whose
JSON in --runs was made with the same arguments is read back, not run again (each
carries its own commit).
Each figure is a mean over the pairs, with a 95 % bootstrap interval; each change after
minus before, paired on the same calls, with its own interval. The target:
key agreement, pace within 1.5x and rhythm similarity no worse after, rhythm better.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from liveai.bench.harness import machine  # noqa: E402
from liveai.data.metrics import notes_per_second  # noqa: E402
from liveai.learn import measure  # noqa: E402
from liveai.learn.folder import read_folder  # noqa: E402
from liveai.learn.split import split_pieces  # noqa: E402
from liveai.models.checkpoint import load_checkpoint  # noqa: E402
from liveai.models.shipped import find_checkpoint  # noqa: E402

WORK = Path("/work/data/learn/figures")
# study: (folder kept apart, learned models: learn_figures.py's names)
STUDIES = {
    "palestrina": ("palestrina/apart", ["fig-palestrina"]),
    "pop909": ("pop909/apart", ["fig-pop909", "fig-pop909-patience12"]),
}
CONDITIONS = ("liveai, same tune before", "liveai, another key before")
TARGETS = ("same_key", "pace_within_1.5x", "rhythm_similarity")
BOOT = 2000


def per_pair(row: dict[str, float], key: str) -> float:
    if key == "pace_within_1.5x":
        return float(1 / 1.5 <= row["pace_ratio"] <= 1.5)
    return float(row[key])


def interval(values: np.ndarray, rng: np.random.Generator) -> list[float]:
    means = values[rng.integers(0, len(values), (BOOT, len(values)))].mean(axis=1)
    return [round(float(np.quantile(means, 0.025)), 3), round(float(np.quantile(means, 0.975)), 3)]


def compare(before: list[dict[str, float]], after: list[dict[str, float]], seed: int) -> dict[str, Any]:
    """Each target before and after, with intervals, and the paired change."""
    rng = np.random.default_rng(seed)
    b, a = {r["pair"]: r for r in before}, {r["pair"]: r for r in after}
    both = sorted(set(b) & set(a))
    out: dict[str, Any] = {"pairs_scored": {"before": len(b), "after": len(a), "both": len(both)}}
    for key in (*TARGETS, "pace_ratio", "profile_vs_real", "on_grid_best_phase"):
        vb = np.array([per_pair(b[i], key) for i in both])
        va = np.array([per_pair(a[i], key) for i in both])
        if key == "pace_ratio":  # a ratio: its median, and the paired change of its log
            out[key] = {
                "before_median": round(float(np.median(vb)), 3),
                "after_median": round(float(np.median(va)), 3),
                "after_over_before_median": round(float(np.exp(np.median(np.log(va / vb)))), 3),
            }
            continue
        diff = va - vb
        out[key] = {
            "before": round(float(vb.mean()), 3),
            "before_95": interval(vb, rng),
            "after": round(float(va.mean()), 3),
            "after_95": interval(va, rng),
            "change": round(float(diff.mean()), 3),
            "change_95": interval(diff, rng),
            "better_pairs": int((diff > 0).sum()),
            "worse_pairs": int((diff < 0).sum()),
        }
    out["targets"] = {
        **{f"{k} no worse": out[k]["change"] >= 0 for k in TARGETS},
        "rhythm_similarity better": out["rhythm_similarity"]["change"] > 0,
        "rhythm_similarity better beyond the noise": out["rhythm_similarity"]["change_95"][0] > 0,
    }
    return out


def run(folder: Path, model: str, duet: str, args: argparse.Namespace) -> dict[str, Any]:
    settings = [] if duet == "default" else [duet]
    out = (
        Path(args.runs)
        / f"{folder.parent.name}-{model}{'' if duet == 'default' else '-' + duet.replace('=', '')}.json"
    )
    cmd = [
        sys.executable,
        str(ROOT / "scripts/eval_duet.py"),
        "--folder",
        str(folder),
        "--model",
        model,
        "--model-folder",
        str(WORK / "models"),
        "--per-file",
        str(args.per_file),
        "--pairs",
        str(args.pairs),
        "--seed",
        str(args.seed),
        "--detail",
        "--out",
        str(out),
        *(f"--set={s}" for s in settings),
    ]
    if out.exists():
        done = json.loads(out.read_text())
        same = (done["folder"], done["model"], done["per_file"], done["seed"]) == (
            str(folder),
            model,
            args.per_file,
            args.seed,
        )
        if same and done["duet"] == _overrides(settings):
            return done
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def _same_weights(a: str, b: str) -> bool:
    wa, wb = (
        torch.load(find_checkpoint(m, str(WORK / "models")), weights_only=True)["model"] for m in (a, b)
    )
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def _overrides(settings: list[str]) -> dict[str, Any]:
    """As eval_duet records its --set."""
    return {k: (v if v.isalpha() else float(v)) for k, _, v in (s.partition("=") for s in settings)}


def study(name: str, duet: str, args: argparse.Namespace) -> dict[str, Any]:
    apart, learned = STUDIES[name]
    folder = WORK / apart
    base = run(folder, "gru", duet, args)
    entry: dict[str, Any] = {
        "folder": str(folder),
        "files": base["files"],
        "files_scored": base["files_scored"],
        "pairs": base["pairs"],
        "real next phrase": base["real next phrase"],
        "gru": {"commit": base["commit"], **{c: base[c] for c in CONDITIONS}},
        "learned": {},
    }
    for model in learned:
        same = _same_weights("gru", model)  # the learn kept its base (nothing beat it): the same answers
        after = base if same else run(folder, model, duet, args)
        entry["learned"][model] = {
            "commit": after["commit"],
            "weights": "the base's (the learn kept it)" if same else "learned",
            "summary": {c: after[c] for c in CONDITIONS},
            "against_gru": {c: compare(base["detail"][c], after["detail"][c], args.seed) for c in CONDITIONS},
        }
    return entry


def card_pace(name: str, model: str) -> dict[str, Any]:
    """The card's pace of continuations (liveai.learn.measure: the first 8 s of held-out
    files continued for 8 s, notes/s against the prime's) beside the music's own next 8 s,
    and how many notes sound at once in each: on the card's phrases (the folder's held-out
    files) and on the files kept apart."""
    work = WORK / STUDIES[name][0]
    out: dict[str, Any] = {}
    for label, folder, held_out in (
        ("the card's phrases", work.parent / "mine", True),
        ("files kept apart", work, False),
    ):
        pieces = read_folder(folder, 16, 512).pieces
        held = split_pieces(pieces)[1] if held_out else pieces
        primes = measure.phrases(held, measure.PHRASES if held_out else len(held))
        real, sounding = [], []
        for p in held:
            notes = p.canonical_notes()
            first = [n for n in notes if n.start < measure.PRIME_S]
            after = [n for n in notes if measure.PRIME_S <= n.start < measure.PRIME_S + measure.CONTINUE_S]
            if len(first) < 4:
                continue
            if len(real) < len(primes):
                real.append(notes_per_second(after) / notes_per_second(first))
            grid = np.arange(0.0, 2 * measure.PRIME_S, 0.05)
            held_at = np.array([sum(n.start <= t < n.end for n in notes) for t in grid])
            sounding.append((held_at[grid < measure.PRIME_S].mean(), held_at[grid >= measure.PRIME_S].mean()))
        entry: dict[str, Any] = {
            "phrases": len(primes),
            "real next 8 s": {
                "pace_ratio_median": round(float(np.median(real)), 3),
                "pace_within_1_5x": round(float(np.mean([1 / 1.5 <= r <= 1.5 for r in real])), 3),
            },
            "notes sounding, first 8 s and next 8 s (mean over files)": [
                round(float(np.mean([a for a, _ in sounding])), 2),
                round(float(np.mean([b for _, b in sounding])), 2),
            ],
            "files fuller in the next 8 s": f"{sum(b > a for a, b in sounding)} of {len(sounding)}",
        }
        for m in ("gru", model):
            net, _ = load_checkpoint(find_checkpoint(m, str(WORK / "models")), "cpu")
            entry[m] = measure.continuations(net, primes)[0]
        out[label] = entry
        print(name, label, json.dumps(entry), flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "docs/figures/2026-12-07-learn-duet.json"))
    ap.add_argument("--runs", default="/work/data/duetfig/runs", help="each eval_duet run's JSON")
    ap.add_argument("--per-file", type=int, default=8)
    ap.add_argument("--pairs", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--studies", default="palestrina,pop909")
    ap.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a duet besides the default"
    )
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    Path(args.runs).mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout
    report: dict[str, Any] = {
        "machine": machine(),
        "commit": commit.strip(),
        "base": "gru",
        "per_file": args.per_file,
        "seed": args.seed,
        "duets": {},
    }
    report["card_pace"] = (
        {"palestrina": card_pace("palestrina", "fig-palestrina")} if "palestrina" in args.studies else {}
    )
    for duet in ["default", *args.set]:
        report["duets"][duet] = {}
        for name in args.studies.split(","):
            report["duets"][duet][name] = study(name, duet, args)
            Path(args.out).write_text(json.dumps(report, indent=2) + "\n")  # after each study
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
