#!/usr/bin/env python
"""How the duet answers a call, measured against the music's own next phrase.

    .venv/bin/python scripts/eval_duet.py [--model gru] [--pairs 100] [--data data/corpus] [--out
    runs/duet.json]
    .venv/bin/python scripts/eval_duet.py --folder ~/midi/held-out --model mine [--per-file 8]

Pairs of consecutive two-bar phrases are cut from the music21 test split on the bar
lines the scores carry (played at the canonical 100 BPM). The first phrase is the
call; the real second phrase is the ceiling, as in the model card. liveai's duet
(the real engine on a fake clock, the model run inline) hears the phrase before the
call, answers it, hears the call and answers that; its answer to the call is scored.
Twice: with the phrase before taken from the same tune, and from another tune moved
to another key (a player who changes key from one phrase to the next).

Figures, each against the call: the same Krumhansl-Schmuckler key (tonic and mode),
the share of notes in the call's scale, and in its pitch set or scale, the pace (median
time between onsets, as a ratio), the note length (median, as a ratio), the similarity
of the rhythm (cosine of the histograms of times between onsets, 16 log-spaced bins
from 50 ms to 2.4 s), the share of onsets on the call's eighth-note grid carried
forward (within an eighth of an eighth each side: chance 0.25; also at the answer's
best phase), the most notes begun together, onsets closer than half the call's
shortest time between onsets, and the mean velocity as a ratio. Against the real next
phrase: how its pitch-class profile correlates with the answer's, beside the call's
own (a replay of the call: the baseline an echo must beat).

With --folder, the phrases are cut from a folder of MIDI files instead (a player's own,
e.g. files `liveai learn` never saw): the notes as played (as `liveai learn` reads
them), cut by the same code every 8 beats of each file's own tempo map (two bars of 4/4;
120 BPM where a file has no tempo, as MIDI says), the eighth-note grid at the file's
tempo. --per-file takes that many triples from each file (distinct, seeded), and
--model takes a learned model's name (looked up in the model folder first, as `liveai
evaluate --model` does) or a path. The same folder, --seed and --per-file give the same
phrases and seeds for every model: a before and after.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pretty_midi
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from liveai.bench.harness import machine  # noqa: E402
from liveai.bench.offline_duet import OfflineDuet  # noqa: E402
from liveai.config import Config  # noqa: E402
from liveai.data.corpus import SCORE, load_pieces, perform_score  # noqa: E402
from liveai.data.midi import midi_files, midi_to_notes  # noqa: E402
from liveai.models.checkpoint import load_checkpoint  # noqa: E402
from liveai.models.shipped import find_checkpoint, model_folder  # noqa: E402
from liveai.music.note import Note  # noqa: E402
from liveai.music.tonality import estimate_key, key_pitch_classes  # noqa: E402

BEAT_S = 0.6  # the canonical rendering: 100 BPM
EIGHTH_S = BEAT_S / 2
# on the grid: within an eighth of an eighth each side (a random onset: a quarter of the time)
# CHORD_S, _onset_groups and _most_together repeat music/pulse.py on purpose: the eval
# is written apart from the code it scores, so a fault there does not grade itself.
CHORD_S = 0.03  # onsets this close are one chord


def phrases(rows: np.ndarray, rel_id: str, bars: int = 2) -> list[list[Note]]:
    """Consecutive `bars`-bar phrases of a score, on its downbeats, times from each start."""
    notes = perform_score([(r[0], r[1], r[2], int(r[3])) for r in rows.tolist()], rel_id)
    if not notes:
        return []
    t0 = float(rows[:, 0].min())
    downbeats = sorted({round(float(o) - t0, 6) for o, _, s, _ in rows.tolist() if s >= 1.0})
    return cut(notes, [d * BEAT_S for d in downbeats[::bars]])


def file_phrases(path: Path, bars: int = 2) -> tuple[list[list[Note]], float]:
    """Consecutive `bars`-bar phrases of a MIDI file as played, on its own beats taken four
    to a bar (time signatures in the wild are unreliable: POP909's say 1/4 mid-song), and
    its eighth note in seconds (at its first beat). OSError or ValueError if unreadable."""
    pm = pretty_midi.PrettyMIDI(str(path))
    notes = midi_to_notes(pm)
    beats = [float(b) for b in pm.get_beats()]
    if not notes or len(beats) < 2:
        return [], EIGHTH_S
    return cut(notes, beats[:: 4 * bars]), (beats[1] - beats[0]) / 2


def cut(notes: list[Note], cuts: list[float]) -> list[list[Note]]:
    """The notes begun between consecutive cuts, timed from each cut; phrases of 4 notes or more."""
    out = []
    for a, b in zip(cuts, cuts[1:]):
        phrase = [Note(n.start - a, n.end - a, n.pitch, n.velocity) for n in notes if a <= n.start < b]
        if len(phrase) >= 4:
            out.append(phrase)
    return out


def figures(
    call: list[Note], answer: list[Note], real: list[Note], offset: float = 0.0, eighth: float = EIGHTH_S
) -> dict[str, float] | None:
    """`answer` and `real` are timed from their own start, which lies `offset` seconds
    after the call's first downbeat (a whole number of eighths for the real phrase);
    `eighth`: the call's eighth note in seconds."""
    if len(answer) < 2:
        return None
    kc, ka = estimate_key(call), estimate_key(answer)
    scale = key_pitch_classes(kc, frozenset(n.pitch % 12 for n in call)) or frozenset()
    pitch_set = scale | {n.pitch % 12 for n in call}
    onsets = np.array([n.start for n in answer]) + offset
    return {
        "same_key": float(kc is not None and ka is not None and (kc.tonic, kc.mode) == (ka.tonic, ka.mode)),
        "in_scale": float(np.mean([n.pitch % 12 in scale for n in answer])),
        "in_call_set": float(np.mean([n.pitch % 12 in pitch_set for n in answer])),
        "pace_ratio": _median_ioi(answer) / max(_median_ioi(call), 1e-3),
        "length_ratio": float(
            np.median([n.end - n.start for n in answer]) / np.median([n.end - n.start for n in call])
        ),
        "rhythm_similarity": _cosine(_ioi_histogram(call), _ioi_histogram(answer)),
        "on_grid": _on_grid(onsets, 0.0, eighth),
        "on_grid_best_phase": max(_on_grid(onsets, phase, eighth) for phase in np.arange(0.0, eighth, 0.005)),
        "chord_excess": float(_most_together(answer) - _most_together(call)),
        "bursts": _bursts(call, answer),
        "velocity_ratio": float(np.mean([n.velocity for n in answer]) / np.mean([n.velocity for n in call])),
        "profile_vs_real": _correlation(_profile(answer), _profile(real)),
        "call_profile_vs_real": _correlation(_profile(call), _profile(real)),
    }


def _on_grid(onsets: np.ndarray, phase: float, eighth: float = EIGHTH_S) -> float:
    off = (onsets - phase) / eighth
    return float(np.mean(np.abs(off - np.round(off)) * eighth <= eighth / 8 + 1e-9))


def _onset_groups(notes: list[Note]) -> list[list[float]]:
    groups: list[list[float]] = []
    for t in sorted(n.start for n in notes):
        if groups and t - groups[-1][0] <= CHORD_S:
            groups[-1].append(t)
        else:
            groups.append([t])
    return groups


def _most_together(notes: list[Note]) -> int:
    return max(len(g) for g in _onset_groups(notes))


def _bursts(call: list[Note], answer: list[Note]) -> float:
    """The share of the answer's times between onsets shorter than half the call's shortest."""
    shortest = float(np.min(np.diff([g[0] for g in _onset_groups(call)])))
    gaps = np.diff([g[0] for g in _onset_groups(answer)])
    return float(np.mean(gaps < shortest / 2)) if len(gaps) else 0.0


def _profile(notes: list[Note]) -> np.ndarray:
    """Pitch-class profile, each note weighted by its length."""
    out = np.zeros(12)
    for n in notes:
        out[n.pitch % 12] += n.end - n.start
    return out


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def _median_ioi(notes: list[Note]) -> float:
    onsets = np.unique(np.round([n.start for n in notes], 2))
    return float(np.median(np.diff(onsets))) if len(onsets) > 1 else 1.0


IOI_BINS = np.geomspace(0.05, 2.4, 17)  # seconds, 16 log-spaced bins: 1/16 at 300 BPM to a long note at 50


def _ioi_histogram(notes: list[Note]) -> np.ndarray:
    """The times between onsets, binned: a rhythm, whatever its phase against a beat
    (the duet, without a clock, cannot know where the call's beats fell)."""
    onsets = np.unique(np.round([n.start for n in notes], 2))
    return np.histogram(np.diff(onsets), bins=IOI_BINS)[0].astype(float)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / denom) if denom else 0.0


def summarize(rows: list[dict[str, float]]) -> dict[str, float]:
    if not rows:
        return {"pairs": 0}
    pace = np.array([r["pace_ratio"] for r in rows])

    def mean(key: str) -> float:
        return round(float(np.mean([r[key] for r in rows])), 3)

    return {
        "pairs": len(rows),
        "same_key": mean("same_key"),
        "in_scale": mean("in_scale"),
        "in_call_set": mean("in_call_set"),
        "pace_ratio_median": round(float(np.median(pace)), 3),
        "pace_within_1.5x": round(float(np.mean((pace >= 1 / 1.5) & (pace <= 1.5))), 3),
        "pace_within_0.6-1.6x": round(float(np.mean((pace >= 0.6) & (pace <= 1.6))), 3),
        "length_ratio_median": round(float(np.median([r["length_ratio"] for r in rows])), 3),
        "rhythm_similarity": mean("rhythm_similarity"),
        "on_grid": mean("on_grid"),
        "on_grid_best_phase": mean("on_grid_best_phase"),
        "chord_excess_share": round(float(np.mean([r["chord_excess"] > 0 for r in rows])), 3),
        "bursts": mean("bursts"),
        "velocity_ratio": mean("velocity_ratio"),
        "profile_vs_real": mean("profile_vs_real"),
        "call_profile_vs_real": mean("call_profile_vs_real"),
    }


def duet_answer(
    model: object, before: list[Note], call: list[Note], seed: int, overrides: dict[str, object] | None = None
) -> tuple[list[Note], float]:
    """The answer, timed from the phrase gap's end, and when that was after the call's start."""
    config = Config()
    config.model.seed = seed
    for key, value in (overrides or {}).items():
        setattr(config.duet, key, value)
    duet = OfflineDuet(model, config)
    end = duet.play(before, at=0.5)
    gap = config.duet.phrase_gap_ms / 1000.0
    duet.advance(end + gap + config.duet.max_response_s + 0.5)  # its answer to the phrase before
    start = duet.clock.t + 0.5
    end = duet.play(call, at=start)
    duet.advance(end + gap + config.duet.max_response_s + 1.0)
    answer = duet.answer_after(end)
    return [
        Note(n.start - (end + gap), n.end - (end + gap), n.pitch, n.velocity) for n in answer
    ], end + gap - start


Triple = tuple[list[Note], list[Note], list[Note], str, float]  # before, call, real next; source; eighth (s)


def pick(cut: list[list[Note]], rng: np.random.Generator, per: int) -> list[int]:
    """Where the triples of one piece begin: one at random, or `per` distinct ones."""
    if per == 1:
        return [int(rng.integers(0, len(cut) - 2))]
    return sorted(int(k) for k in rng.choice(len(cut) - 2, size=min(per, len(cut) - 2), replace=False))


def corpus_triples(data: Path, rng: np.random.Generator, pairs: int, per: int) -> list[Triple]:
    """Triples of the corpus's test split's scores, cut on their written bar lines."""
    triples: list[Triple] = []
    for piece in load_pieces(data / "test_pieces.npz"):
        if piece.kind != SCORE:
            continue
        cut = phrases(piece.rows, piece.rel_id)
        if len(cut) >= 3:
            triples += [(cut[k], cut[k + 1], cut[k + 2], piece.rel_id, EIGHTH_S) for k in pick(cut, rng, per)]
        if len(triples) >= pairs:
            break
    return triples[:pairs]


def folder_triples(
    folder: Path, rng: np.random.Generator, pairs: int, per: int
) -> tuple[list[Triple], dict[str, int]]:
    """Triples of a folder's MIDI files (sorted by path), and how many files gave none, and why."""
    files = midi_files(folder)
    if not files:
        raise SystemExit(f"--folder: no MIDI files under {folder}")
    triples: list[Triple] = []
    skipped = {"unreadable": 0, "fewer than 3 phrases": 0}
    for path in tqdm(files, desc="cutting", unit="file"):
        try:
            cut, eighth = file_phrases(path)
        except Exception:  # noqa: BLE001 (a broken file is counted, the rest scored)
            skipped["unreadable"] += 1
            continue
        if len(cut) < 3:
            skipped["fewer than 3 phrases"] += 1
            continue
        rel = path.relative_to(folder).as_posix()
        triples += [(cut[k], cut[k + 1], cut[k + 2], rel, eighth) for k in pick(cut, rng, per)]
        if len(triples) >= pairs:
            break
    return triples[:pairs], {**skipped, "files": len(files)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--model", default="gru", help="gru, transformer, a learned model's name or a checkpoint path"
    )
    ap.add_argument(
        "--model-folder",
        default="",
        help="where learned models are (default: model.folder, else ~/.local/share/liveai/models)",
    )
    ap.add_argument("--data", default=str(ROOT / "data" / "corpus"))
    ap.add_argument("--folder", help="a folder of MIDI files to cut the phrases from, instead of --data")
    ap.add_argument("--pairs", type=int, default=100)
    ap.add_argument("--per-file", type=int, default=1, help="triples taken from each file or score")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "runs" / "duet.json"))
    ap.add_argument("--detail", action="store_true", help="also each pair's figures, in the JSON written")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a duet setting, e.g. key_memory=1 pace_pull=0 (the first duet's way: a baseline)",
    )
    args = ap.parse_args()
    # the code as it was read, not as it is when a long run ends
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    path = find_checkpoint(args.model, args.model_folder or Config().model.folder)
    if not path.is_file():
        raise SystemExit(
            f"--model: no model {args.model!r} at {path} (model folder: "
            f"{model_folder(args.model_folder or Config().model.folder)})"
        )
    model, _ = load_checkpoint(path, "cpu")
    overrides = {
        k.removeprefix("duet."): (v if v.isalpha() else float(v))
        for k, _, v in (item.partition("=") for item in args.set)
    }
    unknown = set(overrides) - set(vars(Config().duet))
    if unknown:
        raise SystemExit(f"--set: no duet setting {', '.join(sorted(unknown))}")
    rng = np.random.default_rng(args.seed)
    source: dict[str, object] = {"data": args.data}
    if args.folder:
        triples, counts = folder_triples(Path(args.folder).expanduser(), rng, args.pairs, args.per_file)
        source = {"folder": args.folder, **counts, "files_scored": len({t[3] for t in triples})}
    else:
        triples = corpus_triples(Path(args.data), rng, args.pairs, args.per_file)
    if not triples:
        raise SystemExit("no piece gave 3 consecutive phrases of 4 notes or more")
    results: dict[str, list[dict[str, float]]] = {
        "real next phrase": [],
        "liveai, same tune before": [],
        "liveai, another key before": [],
    }
    for i, (before, call, real, here, eighth) in enumerate(tqdm(triples, desc="duet", unit="pair")):
        # the phrase before from the next triple of another piece (the first one's, if all are of one piece)
        other = next(
            (t[0] for t in triples[i + 1 :] + triples[:i] if t[3] != here), triples[(i + 1) % len(triples)][0]
        )
        shift = int(rng.integers(1, 12))
        moved = [
            Note(n.start, n.end, n.pitch + shift - 12 * (n.pitch + shift > 100), n.velocity) for n in other
        ]
        # the real phrase starts on a bar line: a whole number of eighths after the call's
        for label, (phrase, offset) in (
            ("real next phrase", (real, 0.0)),
            ("liveai, same tune before", duet_answer(model, before, call, args.seed + i, overrides)),
            ("liveai, another key before", duet_answer(model, moved, call, args.seed + i, overrides)),
        ):
            scored = figures(call, phrase, real, offset, eighth)
            if scored is not None:
                results[label].append({"pair": i, **scored})
    report = {
        "model": args.model,
        "model_path": str(path),
        "duet": overrides,
        "pairs": len(triples),
        "per_file": args.per_file,
        "seed": args.seed,
        **source,
        "machine": machine(),
        "commit": commit.strip(),
        **{k: summarize(v) for k, v in results.items()},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({**report, "detail": results} if args.detail else report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
