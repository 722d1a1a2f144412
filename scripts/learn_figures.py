#!/usr/bin/env python
"""The figures of `liveai learn`, end to end through the command itself.

    nice -n 10 .venv/bin/python scripts/learn_figures.py --minutes 8 \\
        --out docs/figures/2026-12-07-learn-palestrina.json

For each study: a folder of 60 pieces ("my folder") and 15 others held out apart (both
chosen by the sha1 rule), `liveai learn FOLDER --name ... --minutes N --threads 1` run as a
subprocess (its JSON progress lines give the curve: bits/event of the folder's
own validation files against minutes), then `liveai evaluate` on the 15 apart with the
base model and the learned one (the target: they fall by >= 25 %), and the corpus's test
split before and after from the learn's own card (the target: it rises by <= 10 %).

Studies: Palestrina (music21's corpus, Renaissance polyphony no shipped model saw;
its scores converted to MIDI here with the corpus's own rendering, as a player's folder
holds MIDI) and POP909 (songs of the corpus's test and validation splits: a style the
models know, songs they never trained on). Variants: the default (L2-SP, learn.l2sp),
--replay of the prepared corpus, and any other [learn] value (SOURCE-l2sp=0: nothing
against forgetting; SOURCE-patience=12).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tqdm import tqdm  # noqa: E402

from liveai.bench.harness import machine  # noqa: E402
from liveai.data.corpus import parse_music21_file  # noqa: E402
from liveai.data.midi import notes_to_midi  # noqa: E402
from liveai.data.shards import split_of  # noqa: E402

FOLDER, APART = 60, 15
PALESTRINA = ROOT / ".venv/lib/python3.11/site-packages/music21/corpus/palestrina"
POP909 = Path("/work/shared/data/pop909")


def by_hash(names: list[str]) -> list[str]:
    return sorted(names, key=lambda n: hashlib.sha1(n.encode()).hexdigest())


def palestrina(work: Path) -> tuple[Path, Path]:
    """60 + 15 Palestrina pieces as MIDI files (the corpus's canonical rendering)."""
    mine, apart = work / "palestrina" / "mine", work / "palestrina" / "apart"
    if not (apart.exists() and len(list(apart.glob("*.mid"))) >= APART):
        mine.mkdir(parents=True, exist_ok=True)
        apart.mkdir(parents=True, exist_ok=True)
        chosen = by_hash(sorted(p.name for p in PALESTRINA.iterdir() if p.suffix in (".krn", ".xml", ".mxl")))
        written = 0
        for name in tqdm(chosen, desc="palestrina to MIDI", unit="file"):
            if written >= FOLDER + APART:
                break
            pieces = parse_music21_file(PALESTRINA / name, f"palestrina/{name}")
            if not pieces:
                continue
            where = mine if written < FOLDER else apart
            notes_to_midi(pieces[0].canonical_notes()).write(str(where / (Path(name).stem + ".mid")))
            written += 1
    return mine, apart


def pop909(work: Path) -> tuple[Path, Path]:
    """60 + 15 POP909 songs of the corpus's test and validation splits (never trained on)."""
    mine, apart = work / "pop909" / "mine", work / "pop909" / "apart"
    if not apart.exists():
        mine.mkdir(parents=True, exist_ok=True)
        apart.mkdir(parents=True, exist_ok=True)
        unseen = [p.name for p in sorted(POP909.glob("*.mid")) if split_of(f"pop909/{p.name}#0") != "train"]
        for i, name in enumerate(by_hash(unseen)[: FOLDER + APART]):
            (mine if i < FOLDER else apart).joinpath(name).symlink_to(POP909 / name)
    return mine, apart


def liveai(*args: str) -> list[str]:
    return [sys.executable, "-m", "liveai", *args]


def learn(
    folder: Path, name: str, models: Path, minutes: float, extra: list[str], vae: bool = False
) -> dict[str, Any]:
    """Run `liveai learn` (with `vae`, `--vae`: the curve is the VAE's); its curve and its
    done record."""
    figure = "heldout_elbo_nats" if vae else "validation_bits"
    cmd = liveai(
        "learn",
        str(folder),
        "--name",
        name,
        *(["--vae"] if vae else []),
        "--minutes",
        str(minutes),
        "--threads",
        "1",
        "--progress",
        "json",
        "--model-folder",
        str(models),
        *extra,
    )
    print(" ".join(cmd), flush=True)
    curve, done = [], {}
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            rec = json.loads(line)
            if rec["stage"] == "learning" and rec.get(figure) is not None:
                curve.append({"minutes": rec["minutes"], "step": rec["step"], figure: rec[figure]})
                print(json.dumps(curve[-1]), flush=True)
            elif rec["stage"] == "done":
                done = rec
    if proc.returncode != 0:
        raise SystemExit(f"liveai learn failed ({proc.returncode})")
    return {"curve": curve, "done": done}


def evaluate(folder: Path, model: str, models: Path) -> float:
    out = subprocess.run(
        liveai("evaluate", str(folder), "--model", model, "--set", f"model.folder={models}", "-q"),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return float(json.loads(out.stdout)["bits_per_event"])


def study(
    label: str, mine: Path, apart: Path, models: Path, minutes: float, extra: list[str]
) -> dict[str, Any]:
    name = "fig-" + label.replace("=", "").replace(".", "_")
    run = learn(mine, name, models, minutes, extra)
    done = run["done"]
    base, learned = evaluate(apart, "gru", models), evaluate(apart, name, models)
    cb, ca = done["before"]["corpus_bits"], done["after"]["corpus_bits"]
    return {
        "study": label,
        "learn_args": extra,
        "minutes_asked": minutes,
        "folder_files": done["files"],
        "folder_heldout_files": done["heldout_files"],
        "notes": done["notes"],
        "steps": done["steps"],
        "minutes": done["minutes"],
        "stopped_by": done["stopped_by"],
        "forgetting": done["forgetting"],
        "curve": [{"minutes": 0.0, "step": 0, "validation_bits": done["before"]["validation_bits"]}]
        + run["curve"],
        "apart_files": len(list(apart.glob("*.mid"))),
        "apart_bits": {"before": base, "after": learned, "change": round((learned - base) / base, 4)},
        "corpus_test_bits": {"before": cb, "after": ca, "change": round((ca - cb) / cb, 4) if cb else None},
        "before": done["before"],
        "after": done["after"],
    }


def memory(work: Path, budgets: tuple[int, ...] = (16, 64)) -> dict[str, Any]:
    """A folder of 5,000 files (POP909 songs, each linked several times) learned for one
    step under each `learn.max_memory_mb`: the notes read and the peak memory of the whole
    `liveai learn` process (its baseline, torch and the model, is the same at every budget)."""
    folder = work / "five-thousand"
    folder.mkdir(parents=True, exist_ok=True)
    songs = sorted(POP909.glob("*.mid"))
    for i in range(5000):
        link = folder / f"{i:04d}.mid"
        if not link.exists():
            link.symlink_to(songs[i % len(songs)])
    rows = []
    for budget in budgets:
        script = (
            "import resource, subprocess, sys, json; p = subprocess.run(sys.argv[1:], capture_output=True, "
            "text=True); done = json.loads(p.stdout.splitlines()[-1]); print(json.dumps({'rc': p.returncode, "
            "'files': done['files'], 'notes': done['notes'], 'skipped': done['skipped'], 'peak_rss_mb': "
            "round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)}))"
        )
        cmd = [
            sys.executable,
            "-c",
            script,
            *liveai(
                "learn",
                str(folder),
                "--name",
                "fig-memory",
                "--steps",
                "1",
                "--threads",
                "1",
                "--progress",
                "json",
                "--model-folder",
                str(work / "models"),
                "--set",
                f"learn.max_memory_mb={budget}",
                "--set",
                'learn.corpus=""',
            ),
        ]
        out = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT).stdout)
        rows.append({"max_memory_mb": budget, "notes_mb": round(out["notes"] * 32 / 2**20, 1), **out})
        print(json.dumps(rows[-1]), flush=True)
    return {"folder_files": 5000, "runs": rows}


def draw(results: list[dict[str, Any]], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for r in results:
        xs = [p["minutes"] for p in r["curve"]]
        ys = [p["validation_bits"] / r["curve"][0]["validation_bits"] for p in r["curve"]]
        ax.plot(
            xs,
            ys,
            marker=".",
            label=f"{r['study']}: folder's validation files (apart: "
            f"{100 * r['apart_bits']['change']:+.0f} %, corpus test "
            f"{100 * (r['corpus_test_bits']['change'] or 0):+.1f} %)",
        )
    ax.axhline(0.75, color="0.6", ls="--", lw=0.8, label="target: -25 %")
    ax.set_xlabel("minutes of liveai learn (one core)")
    ax.set_ylabel("validation bits/event, / before")
    ax.set_title("liveai learn: the player's held-out music against minutes")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    fig.tight_layout()
    fig.savefig(png, dpi=100, bbox_inches="tight")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=8.0)
    ap.add_argument("--work", default="/work/data/learn/figures", help="converted folders and learned models")
    ap.add_argument("--out", default=str(ROOT / "docs/figures/2026-12-07-learn-palestrina.json"))
    ap.add_argument("--draw", action="store_true", help="only draw --out's PNG from its JSON")
    ap.add_argument(
        "--append",
        action="store_true",
        help="keep the other studies already in --out (each result carries its own commit)",
    )
    ap.add_argument(
        "--studies",
        default="palestrina,pop909,palestrina-replay,palestrina-l2sp=0.1,palestrina-l2sp=0",
        help="SOURCE or SOURCE-replay or SOURCE-l2sp=X, comma separated",
    )
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    work = Path(args.work)
    models = work / "models"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout
    report: dict[str, Any] = {"machine": machine(), "commit": commit.strip(), "base": "gru", "results": []}
    out = Path(args.out)
    if args.draw:
        draw(json.loads(out.read_text())["results"], out.with_suffix(".png"))
        return 0
    if args.append and out.exists():
        earlier = json.loads(out.read_text())
        report["results"] = [{"commit": earlier["commit"], **r} for r in earlier["results"]]
    for label in args.studies.split(","):
        if label == "memory":
            report["memory"] = memory(work)
            out.write_text(json.dumps(report, indent=2) + "\n")
            continue
        source, _, variant = label.partition("-")
        mine, apart = palestrina(work) if source == "palestrina" else pop909(work)
        extra = (
            ["--replay", str(ROOT / "data/corpus")]
            if variant == "replay"
            else ["--set", f"learn.{variant}"]
            if variant
            else []
        )
        result = {"commit": report["commit"], **study(label, mine, apart, models, args.minutes, extra)}
        report["results"] = [r for r in report["results"] if r["study"] != label] + [result]
        # after each study: a partial run keeps its figures
        out.write_text(json.dumps(report, indent=2) + "\n")
        draw(report["results"], out.with_suffix(".png"))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
