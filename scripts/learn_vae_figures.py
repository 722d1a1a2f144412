#!/usr/bin/env python
"""The morph VAE's figures of `liveai learn --vae`, end to end through the command itself.

    nice -n 10 .venv/bin/python scripts/learn_vae_figures.py --minutes 4 \\
        --out docs/figures/2026-12-07-learn-vae.json

The folder: the 60 Palestrina pieces of scripts/learn_figures.py ("my folder") and the 15
others kept apart (the same sha1 rule), here exported to MIDI by music21's own MIDI
writer, as a notation program exports a score: ticks per beat, tempo and time
signatures (4/2 and 3/2 in Palestrina). `liveai learn FOLDER --name ... --vae --minutes N
--threads 1` runs as a subprocess (its JSON lines give the VAE's curve, held-out ELBO
against minutes); then the 15 pieces apart, cut into melodies by the same code
(liveai.data.grid, liveai.data.melodies), are scored with the base VAE and the learned
one by the shipped VAE's figures (liveai.learn.vae_loop.evaluate); the corpus's test
split before and after comes from the learn's own record.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import numpy as np  # noqa: E402
from learn_figures import APART, FOLDER, PALESTRINA, by_hash, learn  # noqa: E402
from tqdm import tqdm  # noqa: E402

from liveai.bench.harness import machine  # noqa: E402
from liveai.data.grid import grid_melodies  # noqa: E402
from liveai.errors import MidiFileError  # noqa: E402
from liveai.learn.vae_loop import evaluate  # noqa: E402
from liveai.models.checkpoint import load_checkpoint  # noqa: E402
from liveai.models.shipped import find_checkpoint  # noqa: E402


def notated(work: Path) -> tuple[Path, Path]:
    """60 + 15 Palestrina pieces as music21 exports them to MIDI."""
    from music21 import converter  # noqa: PLC0415

    mine, apart = work / "palestrina-notated" / "mine", work / "palestrina-notated" / "apart"
    if not (apart.exists() and len(list(apart.glob("*.mid"))) >= APART):
        mine.mkdir(parents=True, exist_ok=True)
        apart.mkdir(parents=True, exist_ok=True)
        chosen = by_hash(sorted(p.name for p in PALESTRINA.iterdir() if p.suffix in (".krn", ".xml", ".mxl")))
        written = 0
        for name in tqdm(chosen, desc="palestrina to MIDI (music21's writer)", unit="file"):
            if written >= FOLDER + APART:
                break
            try:
                score = converter.parse(str(PALESTRINA / name), forceSource=True, storePickle=False)
                where = mine if written < FOLDER else apart
                score.write("midi", fp=str(where / (Path(name).stem + ".mid")))
            except Exception as exc:  # noqa: BLE001 (a piece music21 cannot write is not in the folder)
                print(f"skipping {name}: {type(exc).__name__}: {exc}", flush=True)
                continue
            written += 1
    return mine, apart


def apart_melodies(apart: Path) -> tuple[np.ndarray, dict[str, int]]:
    rows, skipped = [], {}
    for path in sorted(apart.glob("*.mid")):
        try:
            got, why = grid_melodies(path, path.name)
        except MidiFileError:  # as liveai learn counts it
            got, why = [], "not readable as MIDI"
        if why:
            skipped[why] = skipped.get(why, 0) + 1
        rows += got
    return np.array(rows, dtype=np.uint8).reshape(-1, 32), skipped


def change(before: float, after: float) -> float:
    return round((after - before) / before, 4)


def one_study(
    study: str,
    mine: Path,
    models: Path,
    minutes: float,
    extra: list[str],
    held: np.ndarray,
    apart_before: dict[str, Any],
) -> dict[str, Any]:
    # a learned name
    run = learn(mine, "fig-" + re.sub(r"[^A-Za-z0-9_-]", "_", study), models, minutes, extra, vae=True)
    vae = run["done"]["vae"]
    if not vae.get("path"):
        raise SystemExit(f"{study}: nothing beat the base VAE, so there is no learned VAE to measure")
    learned, _ = load_checkpoint(vae["path"], "cpu", archs=("vae",))
    apart_after = evaluate(learned, held)  # type: ignore[arg-type]
    hb, ha = vae["before"]["held_out"], vae["after"]["held_out"]
    cb, ca = vae["before"]["corpus_test"], vae["after"]["corpus_test"]
    return {
        "study": study,
        "learn_args": extra,
        "folder_files": run["done"]["files"],
        "folder_skipped": run["done"]["skipped"],
        "vae_files": vae["files"],
        "vae_skipped": vae["skipped"],
        "train_melodies": vae["train_melodies"],
        "heldout_melodies": vae["heldout_melodies"],
        "steps": vae["steps"],
        "best_step": vae["best_step"],
        "minutes": vae["minutes"],
        "stopped_by": vae["stopped_by"],
        "forgetting": vae["forgetting"],
        "curve": [{"minutes": 0.0, "step": 0, "heldout_elbo_nats": hb["elbo_nats"]}] + run["curve"],
        "folder_heldout": {
            "before": hb,
            "after": ha,
            "elbo_change": change(hb["elbo_nats"], ha["elbo_nats"]),
        },
        "apart": {
            "after": apart_after,
            "elbo_change": change(apart_before["elbo_nats"], apart_after["elbo_nats"]),
            "recon_change": change(apart_before["recon_nats"], apart_after["recon_nats"]),
        },
        "corpus_test": {
            "before": cb,
            "after": ca,
            "elbo_change": change(cb["elbo_nats"], ca["elbo_nats"]) if cb and ca else None,
            "recon_change": change(cb["recon_nats"], ca["recon_nats"]) if cb and ca else None,
        },
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--minutes", type=float, default=4.0, help="for each part (the continuation, then the VAE)"
    )
    ap.add_argument("--work", default="/work/data/vae/figures")
    ap.add_argument("--out", default=str(ROOT / "docs/figures/2026-12-07-learn-vae.json"))
    ap.add_argument(
        "--studies",
        default="default,replay",
        help="default (L2-SP), replay (--replay data/corpus), or [learn] values: lr=0.0001+patience=12",
    )
    ap.add_argument("--append", action="store_true", help="keep the other studies already in --out")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch  # noqa: PLC0415

    torch.set_num_threads(1)
    work = Path(args.work)
    models = work / "models"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout
    mine, apart = notated(work)
    held, skipped = apart_melodies(apart)
    base, _ = load_checkpoint(find_checkpoint("vae"), "cpu", archs=("vae",))
    apart_before = evaluate(base, held)  # type: ignore[arg-type]
    report: dict[str, Any] = {
        "machine": machine(),
        "commit": commit.strip(),
        "base": "vae (shipped)",
        "minutes_asked": args.minutes,
        "apart": {
            "files": len(list(apart.glob("*.mid"))),
            "melodies": len(held),
            "skipped": skipped,
            "before": apart_before,
        },
        "results": [],
    }
    out = Path(args.out)
    if args.append and out.exists():
        earlier = json.loads(out.read_text())
        report["results"] = [{"commit": earlier["commit"], **r} for r in earlier["results"]]
    for study in args.studies.split(","):
        extra = (
            ["--replay", str(ROOT / "data/corpus")]
            if study == "replay"
            else [a for v in study.split("+") for a in ("--set", f"learn.{v}")]
            if "=" in study
            else []
        )
        result = {
            "commit": report["commit"],
            **one_study(study.replace("=", ""), mine, models, args.minutes, extra, held, apart_before),
        }
        report["results"] = [r for r in report["results"] if r["study"] != result["study"]] + [result]
        out.write_text(json.dumps(report, indent=2) + "\n")  # a partial run keeps its figures
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
