#!/usr/bin/env python
"""The live synth before and after a change, measured in one run, in turns (these
machines are noisy: only what is measured side by side compares).

    .venv/bin/python scripts/ab_audio.py --before 9c2b64d --seconds 120 --rounds 2 --out ab.json

Each round runs `liveai.bench.audio.bench_stream` once with the code of `--before` (a
git worktree of that commit, with its own shipped models) and once with this
checkout's, each in a process of its own: a `liveai serve` with its synth under a fresh
`jackd -d dummy`, harmonizing 200 notes/s over OSC (every answer a synth voice). Each
side plays with its own default setting (`--before-setting`, `--after-setting`: the
second argument its `bench_stream` takes: the headroom in ms, 8 by default; a side from
before 2026-12-06 takes the ring's blocks there). Prints, and writes with --out, every run
and each side's totals.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
# (a side from before JACK was watched has no jack_xruns, render_cpu_percent or note_to_sound_ms: None)
KEYS = (
    "underruns",
    "xruns",
    "jack_xruns",
    "late_notes",
    "render_ms_p50",
    "render_ms_p99",
    "render_cpu_percent",
    "note_to_sound_ms",
    "deadline_misses",
)


def worktree(commit: str, into: Path) -> Path:
    """A checkout of `commit` whose `liveai.shipped` is its own models/ folder (an
    editable install would point it at this checkout's)."""
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(into), commit],
        check=True,
        capture_output=True,
    )
    (into / "liveai" / "shipped").symlink_to(into / "models")
    return into


def end_group(run: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(run.pid, sig)
    except ProcessLookupError:  # it ended meanwhile
        pass


def one_run(tree: Path, frames: int, setting: float, seconds: float) -> dict[str, Any]:
    setting = int(setting) if float(setting).is_integer() else setting  # a count of blocks is an int
    code = (
        "import json, sys; from liveai.bench.audio import bench_stream; "
        f"print(json.dumps(bench_stream({frames}, {setting!r}, {seconds!r})))"
    )
    # A group of its own: a run that hangs is ended with its jackd and liveai, not only its python.
    run = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=tree,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tree)},
        start_new_session=True,
    )
    try:
        out, err = run.communicate(timeout=seconds + 300)
    except subprocess.TimeoutExpired:
        end_group(run, signal.SIGTERM)
        try:
            run.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            end_group(run, signal.SIGKILL)
            run.communicate()
        raise SystemExit(
            f"the run in {tree} took longer than {seconds + 300:.0f} s; ended it and its processes"
        ) from None
    if run.returncode != 0:
        raise SystemExit(f"the run in {tree} failed:\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="the commit to compare with")
    ap.add_argument("--before-setting", type=float, default=8.0, help="its bench_stream's second argument")
    ap.add_argument("--after-setting", type=float, default=8.0, help="this checkout's")
    ap.add_argument("--frames", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=120.0, help="per run")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="liveai-ab-") as tmp:
        before = worktree(args.before, Path(tmp) / "before")
        try:
            sides = [("before", before, args.before_setting), ("after", ROOT, args.after_setting)]
            runs = []
            for round_ in tqdm(range(args.rounds), desc="rounds", unit="round"):
                for side, tree, setting in sides if round_ % 2 == 0 else sides[::-1]:
                    run = one_run(tree, args.frames, setting, args.seconds)
                    runs.append(
                        {
                            "round": round_,
                            "side": side,
                            "setting": setting,
                            **{k: run.get(k) for k in ("blocks", *KEYS)},
                        }
                    )
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], capture_output=True
            )
    totals = {
        side: {
            "runs": len(mine),
            "blocks": sum(r["blocks"] for r in mine),
            "underruns": sum(r["underruns"] for r in mine),
            **{k: [r.get(k) for r in mine] for k in KEYS if k != "underruns"},
        }
        for side in ("before", "after")
        for mine in [[r for r in runs if r["side"] == side]]
    }
    report = {
        "before": args.before,
        "after": subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
        "frames": args.frames,
        "seconds_per_run": args.seconds,
        "runs": runs,
        "totals": totals,
    }
    text = json.dumps(report, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
