"""The loop's worst stall while `learn.record` writes a take, in turns: `pretty_midi`,
main's way at 3b710d5 (the whole take made and written by pretty_midi in a thread:
`asyncio.to_thread`, holding the GIL while it builds), against `keeper`, the Keeper's
own write (the MIDI bytes built on the loop a slice of notes at a time, the file written
in a thread), each for a take of its largest size (main's MAX_TAKE_NOTES 20,000, the
Keeper's liveai.live.record.MAX_TAKE_NOTES) and for a take of the Keeper's size; and
`idle`, the same ticker with nothing written (the floor of this machine). A ticker asks
the loop for a 1 ms sleep over and over; a stall is how late it wakes. The GIL's switch
interval is the server's, and so is its gc.freeze() after start. Prints JSON; `--out FILE` writes it too.

    .venv/bin/python scripts/bench_take_write.py [--turns 5] [--out docs/figures/...json]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from liveai.core.stats import Stats
from liveai.data.midi import notes_to_midi, read_notes
from liveai.events import NoteOff, NoteOn
from liveai.live.record import MAX_TAKE_NOTES, Keeper
from liveai.music.note import Note
from liveai.runtime.port import GIL_SWITCH_INTERVAL_S

MAIN_MAX_TAKE_NOTES = 20_000
TICK_S = 0.001


async def ticker(stalls: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        await asyncio.sleep(TICK_S)
        stalls.append(time.perf_counter() - t - TICK_S)


def notes(n: int) -> list[Note]:
    return [Note(i * 0.05, i * 0.05 + 0.3, 40 + (i * 7) % 48, 40 + i % 80) for i in range(n)]


def pretty_midi_write(folder: Path, name: str, take: list[Note]) -> None:
    partial = folder / f".{name}.part"
    notes_to_midi(take, name="played").write(str(partial))
    partial.replace(folder / name)


async def measure(way: str, n: int, folder: Path) -> dict[str, Any]:
    stalls: list[float] = []
    stop = asyncio.Event()
    keeper = Keeper(folder, Stats(0.0, 10.0))
    played = notes(n)
    if way == "keeper":  # all but the last note played first (not timed)
        for note in played[:-1]:
            keeper.tap(NoteOn(note.pitch, note.velocity, t=note.start, source="osc:bench"))
            keeper.tap(NoteOff(note.pitch, t=note.end, source="osc:bench"))
    task = asyncio.create_task(ticker(stalls, stop))
    await asyncio.sleep(0.05)
    stalls.clear()
    t0 = time.perf_counter()
    if way == "pretty_midi":
        await asyncio.to_thread(pretty_midi_write, folder, f"20261207-000000-bench{n}-take.mid", played)
    elif way == "keeper":  # the last note: at the take's largest size it goes to its file, as when played
        keeper.tap(NoteOn(played[-1].pitch, played[-1].velocity, t=played[-1].start, source="osc:bench"))
        keeper.tap(NoteOff(played[-1].pitch, t=played[-1].end, source="osc:bench"))
        await keeper.flush()
    else:
        await asyncio.sleep(0.5)
    took = time.perf_counter() - t0
    await asyncio.sleep(0.02)
    stop.set()
    await task
    written = sorted(folder.glob("*-take.mid"))
    kept = sum(len(read_notes(p)) for p in written)
    for p in written:
        p.unlink()
    return {
        "way": way,
        "notes": n,
        "notes_kept": kept if way != "idle" else 0,
        "files": len(written),
        "worst_stall_ms": round(1000 * max(stalls), 2),
        "write_ms": round(1000 * took, 1),
        "ticks": len(stalls),
    }


async def main_async(turns: int) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as where:
        folder = Path(where)
        for turn in range(turns):
            for way, n in (
                ("idle", 0),
                ("pretty_midi", MAIN_MAX_TAKE_NOTES),
                ("keeper", MAX_TAKE_NOTES),
                ("pretty_midi", MAX_TAKE_NOTES),
            ):
                rows.append({"turn": turn, **await measure(way, n, folder)})
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=5)
    ap.add_argument("--out")
    args = ap.parse_args()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    gc.collect()
    gc.freeze()  # as the server does once started: its objects are never walked again
    rows = asyncio.run(main_async(args.turns))
    summary: dict[str, Any] = {}
    for way, n in {(r["way"], r["notes"]) for r in rows}:
        mine = [r for r in rows if r["way"] == way and r["notes"] == n]
        summary[f"{way} {n} notes"] = {
            "worst_stall_ms_max": max(r["worst_stall_ms"] for r in mine),
            "worst_stall_ms_median": sorted(r["worst_stall_ms"] for r in mine)[len(mine) // 2],
            "write_ms_median": sorted(r["write_ms"] for r in mine)[len(mine) // 2],
        }
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    out = {
        "what": f"scripts/bench_take_write.py --turns {args.turns}: the asyncio loop's worst lateness on a "
        "1 ms "
        "sleep while one take is written (learn.record), in turns",
        "machine": {"cores": 2, "python": platform.python_version(), "system": platform.platform()},
        "commit": commit,
        "keeper_max_take_notes": MAX_TAKE_NOTES,
        "summary": dict(sorted(summary.items())),
        "runs": rows,
    }
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
