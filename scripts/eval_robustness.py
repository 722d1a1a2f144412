#!/usr/bin/env python
"""Bits per event of models and baselines on held-out music played in other ways.

    .venv/bin/python scripts/eval_robustness.py --model old-gru=models/gru.pt --model gru=runs/gru/best.pt \\
        [--data data/corpus] [--external data/external] [--max-events 100000] [--out runs/robustness]

Rows, each one variation alone:
- the music21 test split as the first models were trained on it (canonical rendering);
- the same scores performed in the canonical style with one thing changed
  (liveai.data.performance.VARIATIONS): constant velocity, legato, overlapping legato,
  staccato, 60/90/140/180 BPM; and the canonical style itself, as a reference drawn by
  the same code;
- the POP909 test songs as played;
- the outside folders of scripts/make_external_midi.py (DAW-entered tunes, music21's
  own MIDI writer), when they are there.

Scorers: every `--model NAME=CHECKPOINT`, and a unigram and an interpolated
Kneser-Ney 5-gram fitted on the training data the new models learn from (the canonical
tokens plus one performance in a random style of each training score). Writes
<out>.json, <out>.md (the table) and <out>.png (the chart).
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from plots import robustness_chart  # noqa: E402

from liveai.data.corpus import SCORE, Piece, load_pieces  # noqa: E402
from liveai.data.evaluate import score_pieces  # noqa: E402
from liveai.data.midi import encode_midi, midi_files  # noqa: E402
from liveai.data.performance import CANONICAL, VARIATIONS, perform, random_style  # noqa: E402
from liveai.data.shards import load_split  # noqa: E402
from liveai.models import codec  # noqa: E402
from liveai.models.checkpoint import load_checkpoint  # noqa: E402
from liveai.models.ngram import KneserNeyModel, UnigramModel  # noqa: E402

IN_DOMAIN = "music21 test, as trained (canonical)"


def _seed(rel_id: str, salt: str) -> int:
    return zlib.crc32(f"{salt}:{rel_id}".encode())


def _take(token_lists: list[list[int]], max_events: int) -> list[np.ndarray]:
    out, n = [], 0
    for tokens in token_lists:
        if n >= max_events:
            break
        if len(tokens) >= 2:
            out.append(np.asarray(tokens, np.int64))
            n += len(tokens) - 1
    return out


def rows_of(test: list[Piece], external: Path, max_events: int) -> dict[str, list[np.ndarray]]:
    scores = [p for p in test if p.kind == SCORE]
    played = [p for p in test if p.kind != SCORE]
    rows: dict[str, list[np.ndarray]] = {
        IN_DOMAIN: _take(
            [codec.encode_notes(p.canonical_notes(), start_token=True) for p in scores], max_events
        ),
    }
    for name, style in {"canonical style (same code as the variations)": CANONICAL, **VARIATIONS}.items():
        performed = []
        for piece in scores:
            rng = np.random.default_rng(_seed(piece.rel_id, name))
            performed.append(codec.encode_notes(perform(piece.rows, style, rng), start_token=True))
            if sum(len(t) for t in performed) > max_events:
                break
        rows[name] = _take(performed, max_events)
    if played:
        rows["POP909 test, as played"] = _take(
            [codec.encode_notes(p.canonical_notes(), start_token=True) for p in played], max_events
        )
    for folder, label in (
        ("daw", "outside: DAW-entered tunes"),
        ("music21", "outside: music21's MIDI writer"),
    ):
        files = midi_files(external / folder) if (external / folder).is_dir() else []
        if files:
            rows[label] = _take([encode_midi(f) for f in files], max_events)
    return rows


def baseline_data(data: Path) -> list[np.ndarray]:
    """What the new models learn from, as token pieces: the canonical training tokens and
    one performance in a random style of every training score."""
    pieces = list(load_split(data, "train").pieces())
    for piece in load_pieces(data / "train_pieces.npz"):
        if piece.kind == SCORE:
            rng = np.random.default_rng(_seed(piece.rel_id, "baseline"))
            pieces.append(
                np.asarray(codec.encode_notes(perform(piece.rows, random_style(rng), rng), start_token=True))
            )
    return [np.asarray(p, np.int64) for p in pieces]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", default=[], metavar="NAME=CHECKPOINT")
    ap.add_argument("--data", default=str(ROOT / "data" / "corpus"))
    ap.add_argument("--external", default=str(ROOT / "data" / "external"))
    ap.add_argument("--max-events", type=int, default=100_000, help="per row")
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "runs" / "robustness"))
    args = ap.parse_args()
    data = Path(args.data)

    rows = rows_of(load_pieces(data / "test_pieces.npz"), Path(args.external), args.max_events)
    scorers: dict[str, object] = {}
    for item in args.model:
        name, _, path = item.partition("=")
        scorers[name], _ = load_checkpoint(path, "cpu")
    if not args.no_baselines:
        print("fitting the baselines on the training data", flush=True)
        train = baseline_data(data)
        scorers["unigram"] = UnigramModel(train)
        scorers["5-gram (same data)"] = KneserNeyModel(train, order=5)

    table: dict[str, dict[str, float]] = {row: {} for row in rows}
    events = {row: int(sum(len(p) - 1 for p in pieces)) for row, pieces in rows.items()}
    with tqdm(total=len(rows) * len(scorers), desc="score", unit="row") as bar:
        for name, scorer in scorers.items():
            for row, pieces in rows.items():
                table[row][name] = round(score_pieces(scorer, pieces, name).bits_per_event, 3)  # type: ignore[arg-type]
                bar.update(1)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"bits_per_event": table, "events": events}, indent=2))
    names = list(scorers)
    lines = ["| held-out music | events | " + " | ".join(names) + " |", "|---" * (len(names) + 2) + "|"]
    lines += [
        f"| {row} | {events[row]:,} | " + " | ".join(f"{table[row][n]:.3f}" for n in names) + " |"
        for row in rows
    ]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    robustness_chart(
        list(rows),
        {n: [table[r][n] for r in rows] for n in names},
        out.with_suffix(".png"),
        "bits per event on held-out music, one variation at a time",
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
