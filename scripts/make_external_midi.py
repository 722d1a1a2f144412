#!/usr/bin/env python
"""Write the robustness table's outside folder: MIDI the models never saw made the way
people and other tools make it.

    .venv/bin/python scripts/make_external_midi.py [--out data/external] [--music21 60]

- `daw/`: eight public-domain tunes written here by hand as a DAW user would enter
  them: melody and block-chord accompaniment on a 16th grid, 120 BPM, legato, one
  velocity (100) throughout, two tracks. Their melodies and chords are below.
- `music21/`: held-out (test split) scores of the corpus written to MIDI by music21's
  own MIDI writer: the score's tempo (or 120 BPM), music21's velocities, full written
  lengths. The notes are the corpus's; the performance is another tool's.

Both are made again from this script; nothing here is shipped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from liveai.data.midi import notes_to_instrument  # noqa: E402
from liveai.data.shards import split_of  # noqa: E402
from liveai.music.note import Note  # noqa: E402

BPM = 120.0
VELOCITY = 100
# (name, melody as "pitch:quarters" steps with "r" rests, chords as "root-quality:quarters")
TUNES = [
    (
        "ode_to_joy",
        "64:1 64:1 65:1 67:1 67:1 65:1 64:1 62:1 60:1 60:1 62:1 64:1 64:1.5 62:0.5 62:2 "
        "64:1 64:1 65:1 67:1 67:1 65:1 64:1 62:1 60:1 60:1 62:1 64:1 62:1.5 60:0.5 60:2",
        "C:4 G:2 C:2 C:4 G:4 C:4 G:2 C:2 C:4 G:2 C:2",
    ),
    (
        "twinkle",
        "60:1 60:1 67:1 67:1 69:1 69:1 67:2 65:1 65:1 64:1 64:1 62:1 62:1 60:2 "
        "67:1 67:1 65:1 65:1 64:1 64:1 62:2 67:1 67:1 65:1 65:1 64:1 64:1 62:2",
        "C:2 F:1 C:1 F:2 C:2 G:2 C:2 C:2 G:2 C:2 G:2 C:2 G:2",
    ),
    (
        "greensleeves",
        "69:1 72:2 74:1 76:1.5 77:0.5 76:1 74:2 71:1 67:1.5 69:0.5 71:1 72:2 69:1 69:1.5 68:0.5 69:1 "
        "71:2 68:1 64:2 69:1 72:2 74:1 76:1.5 77:0.5 76:1 74:2 71:1 67:1.5 69:0.5 71:1 72:1.5 71:0.5 69:1 "
        "68:1.5 66:0.5 68:1 69:3",
        "Am:3 G:3 F:3 E:3 Am:3 G:3 Am:3 E:3 Am:3 G:3 F:3 E:3 Am:3 E:3 Am:3",
    ),
    (
        "amazing_grace",
        "r:2 60:1 65:2 69:0.5 65:0.5 69:2 67:1 65:2 62:1 60:2 60:1 65:2 69:0.5 65:0.5 69:2 67:1 72:3",
        "F:3 F:3 Bb:3 F:3 Dm:3 C:3 F:3 F:3 C:3",
    ),
    (
        "saints",
        "60:1 64:1 65:1 67:4 60:1 64:1 65:1 67:4 60:1 64:1 65:1 67:2 64:2 60:2 64:2 62:4",
        "C:4 C:4 C:4 C:4 C:4 G:4",
    ),
    (
        "scarborough_fair",
        "62:2 62:1 69:2 69:1 64:1.5 65:0.5 64:1 62:3 r:1 69:1 72:2 74:1 72:2 69:1 71:2 67:1 69:3",
        "Dm:3 Dm:3 C:3 Dm:3 Dm:3 F:3 G:3 Dm:3",
    ),
    (
        "auld_lang_syne",
        "60:1 65:1.5 65:0.5 65:1 69:1 67:1.5 65:0.5 67:1 69:0.5 67:0.5 65:1.5 65:0.5 69:1 72:1 74:3",
        "F:4 C:4 F:4 Bb:4 F:2",
    ),
    (
        "frere_jacques",
        "60:1 62:1 64:1 60:1 60:1 62:1 64:1 60:1 64:1 65:1 67:2 64:1 65:1 67:2 "
        "67:0.5 69:0.5 67:0.5 65:0.5 64:1 60:1 67:0.5 69:0.5 67:0.5 65:0.5 64:1 60:1 60:1 55:1 60:2 60:1 "
        "55:1 60:2",
        "C:16 C:8 C:8",
    ),
]
ROOTS = {"C": 48, "D": 50, "E": 52, "F": 53, "G": 55, "A": 57, "B": 59, "Bb": 58}
QUALITIES = {"": (0, 4, 7), "m": (0, 3, 7)}


def daw_tune(melody: str, chords: str) -> tuple[list[Note], list[Note]]:
    """(melody, chords) as a DAW piano roll: legato, on the grid, one velocity."""
    q = 60.0 / BPM
    lead, t = [], 0.0
    for step in melody.split():
        pitch, beats = step.split(":")
        if pitch != "r":
            lead.append(Note(t * q, (t + float(beats)) * q, int(pitch), VELOCITY))
        t += float(beats)
    harmony, t = [], 0.0
    for step in chords.split():
        name, beats = step.split(":")
        root, quality = (name[:-1], "m") if name.endswith("m") else (name, "")
        for interval in QUALITIES[quality]:
            harmony.append(Note(t * q, (t + float(beats)) * q, ROOTS[root] + interval, VELOCITY))
        t += float(beats)
    return lead, harmony


def write_daw(out: Path) -> None:
    import pretty_midi

    out.mkdir(parents=True, exist_ok=True)
    for name, melody, chords in TUNES:
        lead, harmony = daw_tune(melody, chords)
        pm = pretty_midi.PrettyMIDI(initial_tempo=BPM)
        pm.instruments += [
            notes_to_instrument(lead, name="melody"),
            notes_to_instrument(harmony, name="chords"),
        ]
        pm.write(str(out / f"{name}.mid"))


def write_music21(out: Path, count: int) -> None:
    """The first `count` test-split tunes of each collection, written by music21."""
    from music21 import converter, corpus, stream

    out.mkdir(parents=True, exist_ok=True)
    root = Path(corpus.__file__).resolve().parent
    for collection in ("bach", "essenFolksong", "oneills1850", "ryansMammoth"):
        written = 0
        paths = sorted(Path(p) for p in corpus.getComposer(collection))
        with tqdm(total=count, desc=f"music21 {collection}", unit="tune") as bar:
            for path in paths:
                if written >= count:
                    break
                rel = path.resolve().relative_to(root).as_posix()
                parsed = converter.parse(str(path), forceSource=True, storePickle=False)
                scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
                for i, score in enumerate(scores):
                    if written >= count or split_of(f"{rel}#{i}") != "test":
                        continue
                    target = out / f"{rel.replace('/', '_')}_{i}.mid"
                    try:
                        score.write("midi", fp=str(target))
                    except Exception as exc:  # music21's writer refuses some scores; take the next
                        print(f"skipped {rel}#{i}: {type(exc).__name__}", file=sys.stderr)
                        target.unlink(missing_ok=True)
                        continue
                    written += 1
                    bar.update(1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "data" / "external"))
    ap.add_argument("--music21", type=int, default=15, help="test tunes per music21 collection")
    args = ap.parse_args()
    out = Path(args.out)
    write_daw(out / "daw")
    write_music21(out / "music21", args.music21)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
