"""A stand-in for `liveai learn` that keeps its command-line contract: JSON progress
lines on stdout, NAME.pt in the model folder (a copy of a shipped checkpoint), exit 2
with one line on stderr for a folder with no MIDI files; with --no-improvement nothing
written, exit 1. `--burn` keeps one core busy
for that many seconds first (a learner's load, for the benchmark)."""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import time
from pathlib import Path

from liveai.models.shipped import shipped_dir


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--name", required=True)
    parser.add_argument("--model", default="gru")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--progress", default="")
    parser.add_argument("--model-folder", required=True)
    parser.add_argument("--minutes", type=float, default=0)
    parser.add_argument("--burn", type=float, default=0.0)
    parser.add_argument(
        "--no-improvement", action="store_true", help="report best_step 0: nothing beat the base"
    )
    parser.add_argument("--set", action="append", default=[])  # the server's settings: a stand-in needs none
    args = parser.parse_args()
    files = sorted(Path(args.folder).glob("*.mid")) if Path(args.folder).is_dir() else []
    if not files:
        print(f"liveai learn: no MIDI files in {args.folder}", file=sys.stderr)
        return 2
    stopped = []
    signal.signal(signal.SIGTERM, lambda *_: stopped.append(True))
    say = lambda **line: print(json.dumps(line), flush=True)  # noqa: E731
    say(stage="reading", files=len(files))
    end = time.monotonic() + args.burn
    step = 0
    while step < args.steps or time.monotonic() < end:
        if stopped:
            break
        burn = time.monotonic() + 0.05
        while time.monotonic() < burn:
            pass
        step = min(step + 1, args.steps)
        say(
            stage="learning",
            step=step,
            steps=args.steps,
            minutes=0.0,
            eta_s=0.1,
            validation_bits=3.0 - 0.01 * step,
        )
    say(stage="evaluating")
    if args.no_improvement:  # as `liveai learn`: nothing beat the base, nothing written, exit 1
        print(
            f"liveai: nothing learned yet (nothing beat {args.model} on the validation files); {args.name} "
            "unchanged",
            file=sys.stderr,
        )
        say(
            stage="done",
            path=None,
            card=None,
            unchanged=True,
            before={"heldout_bits": 3.0},
            after=None,
            best_step=0,
        )
        return 1
    folder = Path(args.model_folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{args.name}.pt"
    shutil.copy(shipped_dir() / f"{args.model}.pt", path)
    say(
        stage="done",
        path=str(path),
        card=str(folder / f"{args.name}.md"),
        before={"heldout_bits": 3.0},
        after={"heldout_bits": 2.9},
        best_step=step,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
