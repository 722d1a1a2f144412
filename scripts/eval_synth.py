#!/usr/bin/env python
"""The synth's card figures: how close it comes to FluidSynth on the held-out test clips,
against two baselines without a network.

    .venv/bin/python scripts/eval_synth.py --model runs/synth/best.pt --data data/audio \\
        --out models/synth_eval.json --figure models/synth_spectrograms.png [--clips N] \\
        [--compare models/synth.pt]

For each test clip (data/audio/test.npz, scripts/prepare_audio.py: FluidSynth's Electric
Piano 1, dry), three systems are measured against FluidSynth's audio by the same code
(liveai.audio.quality): the multi-resolution STFT distance and the log-spectral distance
(dB), lower is closer.

- model: the network as the live engine plays it (SynthRenderer, render_notes: the notes
  from silence, one block after another), cut or padded to the clip's length; its own level.
- excitation: the features' channel 0 alone (every voice's 1/h harmonics times its
  envelope: what the network is fed), no network.
- sine: one sine per note with the same envelope (channel 0 built with harmonics=1).

The baselines are scaled to the reference's RMS clip by clip; the model gets no such
help. `--compare` scores another synth (the one shipped before, say) by the same code.

Musical figures, each beside FluidSynth's: how bright each system sounds on the test
clips (the share of its energy above 4 kHz, dB), and how a held note decays: five notes
from C2 to C6 at velocity 100, each held 2.5 s alone, rendered by FluidSynth and by
each system; each note's level at 0.25, 0.5, 1 and 2 s after onset relative to 30 ms,
and the mean absolute difference from FluidSynth's, dB. The synth's decay constant was
read off that probe, so a second one (five other pitches, velocity 70) checks it.

Clean chords, each beside FluidSynth's by the same code (liveai.audio.harmonics):
the chord set (triads, sevenths and clusters on C2..C6, each held 2 s alone, the first
after 1.5 s of silence) rendered by FluidSynth and by each synth; each chord's
off-harmonic energy relative to its harmonics (1 s steady segment, below 8 kHz), the
worst one-second DC, and the peak level before the first chord. The worst DC and the
level before the first note (null where a clip starts at its first sample: nothing to
measure) are also read on every test clip. And the headroom the live stream needs: each
synth's peak before `audio.gain` and the share of samples the default gain would clip,
on the chord set and the test clips.

Writes the JSON (means, per-clip values, whether the model beats both baselines, the
musical figures) and two figures: log-magnitude spectrograms of the first seconds of
one clip (FluidSynth, model, excitation and sine), and the held notes' decay curves
(`--decay-figure`); prints the summary.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from plots import chord_chart, decay_chart, spectrograms  # noqa: E402

from liveai.audio.harmonics import (
    LEAD_S,
    SEGMENT,
    before_first_dbfs,
    chord_figures,
    chord_notes,  # noqa: E402
    chord_set,
    clipped_share,
    masked_share,
    worst_dc,
)
from liveai.audio.quality import (
    DECAY_POINTS_S,
    PROBES,
    SYSTEMS,
    baseline,
    decay_db,
    distances,  # noqa: E402
    fit,
    held_notes,
    high_share_db,
    summarize,
    systems_of,
)
from liveai.audio.renderer import SynthRenderer, render_notes  # noqa: E402
from liveai.bench.harness import machine  # noqa: E402
from liveai.config import Config  # noqa: E402
from liveai.data.audio import fluidsynth_render  # noqa: E402
from liveai.models.checkpoint import load_checkpoint  # noqa: E402
from liveai.music.note import Note  # noqa: E402

METRICS = ("mrstft", "lsd_db")
DESCRIPTIONS = {
    "model": "render_notes(SynthRenderer(net), notes), cut or padded to the clip; its own level, not "
    "RMS-matched",
    "excitation": "the features' channel 0 (each voice's 1/h harmonics x envelope), no network; RMS-matched "
    "per clip",
    "sine": "one sine per note with the same envelope (features with harmonics=1, channel 0); RMS-matched "
    "per clip",
}


def read_clips(path: Path, limit: int | None) -> tuple[list[np.ndarray], list[list[Note]], int]:
    """(FluidSynth audio float32, notes) of each clip of a split, and its sample rate."""
    with np.load(path) as z:
        audio, starts, rows, counts = z["audio"], z["starts"], z["notes"], z["note_counts"]
        rate = int(z["sample_rate"])
    ends = np.append(starts[1:], len(audio))
    firsts = np.concatenate([[0], np.cumsum(counts)])
    n = len(starts) if limit is None else min(limit, len(starts))
    sounds = [audio[starts[i] : ends[i]].astype(np.float32) / 32768.0 for i in range(n)]
    notes = [
        [Note(float(s), float(e), int(p), int(v)) for s, e, p, v in rows[firsts[i] : firsts[i + 1]]]
        for i in range(n)
    ]
    return sounds, notes, rate


def held_decay(
    renderer: SynthRenderer, previous: SynthRenderer | None, config: Any, probe: str
) -> dict[str, Any]:
    """A decay probe: held notes rendered by FluidSynth and each system; each note's
    level after its onset, and each system's mean absolute difference from FluidSynth's."""
    notes = held_notes(probe)
    rate = config.sample_rate
    reference = fluidsynth_render(notes, rate)
    sounding = {"reference": reference, **systems_of(notes, reference, render_notes(renderer, notes), config)}
    if previous is not None:
        sounding["previous"] = fit(render_notes(previous, notes), len(reference))
    curves = {name: decay_db(audio, notes, rate) for name, audio in sounding.items()}
    return {
        "notes": [[n.pitch, n.velocity, n.end - n.start] for n in notes],
        "points_s": list(DECAY_POINTS_S),
        "curves_db": {name: c.round(2).tolist() for name, c in curves.items()},
        "mean_abs_error_db": {
            name: round(float(np.abs(c - curves["reference"])[:, 1:].mean()), 2)
            for name, c in curves.items()
            if name != "reference"
        },
        "level_at_2s_db": {name: round(float(c[:, -1].mean()), 2) for name, c in curves.items()},
    }


CHORD_TARGET_DB, DC_TARGET, SILENCE_TARGET_DBFS = -40.0, 1e-4, -80.0
GAIN = Config().audio.gain  # the live stream's default: what the headroom figures are read at


def headroom(audio: np.ndarray) -> dict[str, float]:
    """The peak before the stream's gain, and the share of samples the default gain clips."""
    return {
        "peak": round(float(np.abs(audio).max()), 4) if len(audio) else 0.0,
        "clipped_share": float(f"{clipped_share(audio, GAIN):.3g}"),
    }


def sha256(path: str | None) -> str | None:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else None


def worst_level(values: list[float | None]) -> float | None:
    """The loudest of the levels measured (None: nothing measured anywhere)."""
    measured = [v for v in values if v is not None]
    return max(measured) if measured else None


def held_chords(renderer: SynthRenderer, previous: SynthRenderer | None, rate: int) -> dict[str, Any]:
    """The chord set rendered by FluidSynth and each synth: off-harmonic energy per chord,
    the worst one-second DC, the peak before the first chord."""
    names, chords = zip(*chord_set())
    notes = chord_notes(chords)
    reference = fluidsynth_render(notes, rate)
    sounding = {"reference": reference, "model": fit(render_notes(renderer, notes), len(reference))}
    if previous is not None:
        sounding["previous"] = fit(render_notes(previous, notes), len(reference))
    figures = {name: chord_figures(audio, chords, rate) for name, audio in sounding.items()}
    before = round(LEAD_S * rate)
    return {
        "chords": list(names),
        "pitches": [list(c) for c in chords],
        "segment_s": list(SEGMENT),
        "masked_share": [round(masked_share(c), 3) for c in chords],
        "off_harmonic_db": {name: [round(v, 2) for v in f] for name, f in figures.items()},
        "worst_off_harmonic_db": {name: round(max(f), 2) for name, f in figures.items()},
        "mean_off_harmonic_db": {name: round(float(np.mean(f)), 2) for name, f in figures.items()},
        "worst_dc": {name: float(f"{worst_dc(a, rate):.3g}") for name, a in sounding.items()},
        "before_first_note_dbfs": {name: before_first_dbfs(a, before) for name, a in sounding.items()},
        "headroom": {name: headroom(a) for name, a in sounding.items()},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "models" / "synth.pt"))
    ap.add_argument("--data", default=str(ROOT / "data" / "audio"), help="folder of test.npz")
    ap.add_argument("--clips", type=int, default=None, help="only the first N test clips (default: all)")
    ap.add_argument("--out", default=str(ROOT / "models" / "synth_eval.json"))
    ap.add_argument("--figure", default=str(ROOT / "models" / "synth_spectrograms.png"))
    ap.add_argument("--figure-clip", type=int, default=0, help="the clip drawn")
    ap.add_argument("--figure-s", type=float, default=4.0, help="seconds drawn from its start")
    ap.add_argument("--decay-figure", default=str(ROOT / "models" / "synth_decay.png"))
    ap.add_argument("--chord-figure", default=str(ROOT / "models" / "synth_chords.png"))
    ap.add_argument("--compare", help="another synth checkpoint, scored by the same code (as 'previous')")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    # read now: the code measured is the code at the start
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    ).stdout

    net, info = load_checkpoint(args.model, "cpu", archs=("synth",))
    config = net.config  # type: ignore[attr-defined]
    sounds, clip_notes, rate = read_clips(Path(args.data) / "test.npz", args.clips)
    if rate != config.sample_rate:
        raise SystemExit(f"the test clips are at {rate} Hz, the model at {config.sample_rate}")
    renderer = SynthRenderer(net)  # type: ignore[arg-type]
    previous = (
        SynthRenderer(load_checkpoint(args.compare, "cpu", archs=("synth",))[0]) if args.compare else None
    )
    systems = (*SYSTEMS, "previous") if previous else SYSTEMS
    per_clip: list[dict[str, Any]] = []
    render_s, drawn = 0.0, None
    for i in tqdm(range(len(sounds)), desc="test clips", unit="clip"):
        reference, notes = sounds[i], clip_notes[i]
        started = time.perf_counter()
        rendered = render_notes(renderer, notes)
        render_s += time.perf_counter() - started
        sounding = systems_of(notes, reference, rendered, config)
        if previous is not None:
            sounding["previous"] = fit(render_notes(previous, notes), len(reference))
        scores = {name: distances(audio, reference) for name, audio in sounding.items()}
        per_clip.append(
            {
                "clip": i,
                "seconds": round(len(reference) / rate, 3),
                "notes": len(notes),
                **{s: {m: round(v, 4) for m, v in scores[s].items()} for s in systems},
                "high_share_db": {
                    name: round(high_share_db(a, rate), 2)
                    for name, a in {"reference": reference, **sounding}.items()
                },
                "worst_dc": {
                    name: float(f"{worst_dc(a, rate):.3g}")
                    for name, a in {"reference": reference, **sounding}.items()
                },
                "before_first_note_dbfs": {
                    name: before_first_dbfs(a, round(min(n.start for n in notes) * rate))
                    for name, a in {"reference": reference, **sounding}.items()
                },
                "headroom": {
                    name: headroom(sounding[name]) for name in ("model", "previous") if name in sounding
                },
            }
        )
        if i == args.figure_clip:
            drawn = (reference, fit(rendered, len(reference)), notes)

    means = summarize([{s: clip[s] for s in systems} for clip in per_clip])
    held = {probe: held_decay(renderer, previous, config, probe) for probe in PROBES}
    chords = held_chords(renderer, previous, rate)
    held_systems = ("reference", "model", "previous") if previous else ("reference", "model")
    seconds = sum(len(s) for s in sounds) / rate
    train = info["train_info"]
    loudest_before = worst_level(
        [chords["before_first_note_dbfs"]["model"], *(c["before_first_note_dbfs"]["model"] for c in per_clip)]
    )
    report: dict[str, Any] = {
        "machine": machine(),
        "commit": commit.strip(),
        "compare": args.compare,
        "model": str(args.model),
        "model_sha256": sha256(args.model),
        "compare_sha256": sha256(args.compare),
        "steps": train.get("steps"),
        "params": train.get("params"),
        "data": str(Path(args.data) / "test.npz"),
        "clips": len(per_clip),
        "seconds": round(seconds, 1),
        "sample_rate": rate,
        "reference": "FluidSynth, FluidR3 GM, program 4 (Electric Piano 1), dry",
        "metrics": {
            "mrstft": "multi-resolution STFT distance (FFT 2048..64; spectral convergence + log-magnitude "
            "L1)",
            "lsd_db": "log-spectral distance, dB (2048-point FFT)",
        },
        "rms_match": "the baselines (excitation, sine) are scaled per clip to the reference's RMS; the "
        "model is not",
        "systems": DESCRIPTIONS,
        "mean": {s: {m: round(v, 4) for m, v in means[s].items()} for s in systems},
        "high_share_db": {
            name: round(float(np.mean([c["high_share_db"][name] for c in per_clip])), 2)
            for name in per_clip[0]["high_share_db"]
        }
        if per_clip
        else {},
        "held_notes": held,
        "held_chords": chords,
        "test_clips_worst_dc": {name: max(c["worst_dc"][name] for c in per_clip) for name in held_systems},
        "test_clips_before_first_note_dbfs": {
            name: worst_level([c["before_first_note_dbfs"][name] for c in per_clip]) for name in held_systems
        },
        "test_clips_with_silence_before": sum(
            c["before_first_note_dbfs"]["model"] is not None for c in per_clip
        ),
        "gain": GAIN,
        "test_clips_headroom": {
            name: {
                "peak": max(c["headroom"][name]["peak"] for c in per_clip),
                "mean_clipped_share": float(
                    f"{np.mean([c['headroom'][name]['clipped_share'] for c in per_clip]):.3g}"
                ),
            }
            for name in held_systems
            if name != "reference"
        },
        "targets": {
            "chords_off_harmonic_db": CHORD_TARGET_DB,
            "dc": DC_TARGET,
            "before_first_note_dbfs": SILENCE_TARGET_DBFS,
            "model_meets": {
                "chords": bool(chords["worst_off_harmonic_db"]["model"] <= CHORD_TARGET_DB),
                "dc": bool(
                    max(chords["worst_dc"]["model"], *(c["worst_dc"]["model"] for c in per_clip)) <= DC_TARGET
                ),
                "silence": bool(loudest_before is None or loudest_before <= SILENCE_TARGET_DBFS),
            },
        },
        "model_beats_both": {
            m: bool(means["model"][m] < min(means["excitation"][m], means["sine"][m])) for m in METRICS
        },
        "model_beats_both_per_clip": {
            m: round(
                float(np.mean([c["model"][m] < min(c["excitation"][m], c["sine"][m]) for c in per_clip])), 3
            )
            for m in METRICS
        },
        # seconds of audio per second of rendering, one thread
        "render_x_realtime": round(seconds / render_s, 2),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**report, "per_clip": per_clip}, indent=2) + "\n")
    if drawn is not None:
        reference, rendered, notes = drawn
        n = min(len(reference), round(args.figure_s * rate))
        rows = [
            ("FluidSynth (reference)", reference),
            ("model", rendered),
            *[
                (f"{name} baseline (RMS-matched)", baseline(name, notes, reference, config))
                for name in ("excitation", "sine")
            ],
        ]
        Path(args.figure).parent.mkdir(parents=True, exist_ok=True)
        model_name = Path(args.model).name
        title = (
            f"test clip {args.figure_clip}, first {n / rate:.1f} s ({model_name}, step {train.get('steps')})"
        )
        spectrograms(rows, rate, Path(args.figure), title=title, seconds=n / rate)
    decay_chart(
        held["c2-c6"]["curves_db"],
        DECAY_POINTS_S,
        [n.pitch for n in held_notes()],
        Path(args.decay_figure),
        title=f"held notes: level after the onset ({Path(args.model).name}, step {train.get('steps')})",
    )
    chord_chart(
        chords["chords"],
        chords["off_harmonic_db"],
        Path(args.chord_figure),
        CHORD_TARGET_DB,
        title=f"held chords: energy off their harmonics ({Path(args.model).name}, step {train.get('steps')})",
    )
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
