"""`liveai bench --play --learn`: learning live against the music, measured from outside.

One server harmonizes (the harmony model, the continuation model on the worker) at
RATE notes/s over OSC, in turns:

- without learning, then with a learning running in the background (`/liveai/learn`,
  its child at nice 19 on one thread): harmonize round trips, p99 and deadline misses;
- steady, then with the continuation model's weights switched every SWAP_EVERY_S
  (`/liveai/model`): deadline misses, and ping round trips sent meanwhile.

The learning is the real `liveai learn` when this liveai has it; otherwise a stand-in
child that keeps its contract and keeps one core busy (`python -m
liveai.bench.learn_live standin`), and the report says which.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from ..data.midi import notes_to_midi
from ..models.shipped import shipped_dir
from ..music.note import Note
from .harness import machine, ping_round_trip, summarize
from .play import ChannelRoundTrip, PlayServer, osc_sender, play_notes

RATE = 50.0
SWAP_EVERY_S = 2.0
WINDOW_S = 0.6  # after a switch is asked for: reading, loading, priming and the hand-over are over by then
TAKES = 8  # recorded files the learning reads


def learn_available() -> bool:
    return (
        subprocess.run([sys.executable, "-m", "liveai", "learn", "--help"], capture_output=True).returncode
        == 0
    )


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_takes(folder: Path, count: int = TAKES) -> None:
    """Takes as `learn.record` keeps them: phrases up and down a scale, a few keys."""
    folder.mkdir(parents=True, exist_ok=True)
    scale = [0, 2, 4, 5, 7, 9, 11, 12]
    for k in range(count):
        notes, t = [], 0.0
        for bar in range(48):
            for i, step in enumerate(scale if bar % 2 == 0 else scale[::-1]):
                notes.append(Note(t, t + 0.2, 55 + 2 * k + step, 70 + (i * 7) % 40))
                t += 0.25
        notes_to_midi(notes).write(str(folder / f"20261207-2100{k:02d}-player.mid"))


def wait_status(srv: PlayServer, check: Any, timeout: float = 120.0) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        status = srv.status()
        if check(status):
            return status
        time.sleep(0.2)
    raise TimeoutError("the server did not get there in time")


def harmonize(srv: PlayServer, send: Any, trip: ChannelRoundTrip, seconds: float) -> dict[str, Any]:
    misses = srv.status()["deadline_misses"]
    run = play(send, trip, seconds)
    run["deadline_misses"] = srv.status()["deadline_misses"] - misses
    return run


def play(send: Any, trip: ChannelRoundTrip, seconds: float) -> dict[str, Any]:
    trip.reset()
    play_notes([send], trip, RATE, seconds, channels=16)
    time.sleep(0.3)
    return {"latencies": list(trip.latencies), "sent": int(RATE * seconds), "lost": trip.lost()}


def pooled(runs: list[dict[str, Any]]) -> dict[str, Any]:
    figures = summarize(
        [x for r in runs for x in r["latencies"]], sum(r["sent"] for r in runs), sum(r["lost"] for r in runs)
    )
    figures["deadline_misses"] = sum(r["deadline_misses"] for r in runs)
    return figures


def learning_turn(
    srv: PlayServer, send: Any, trip: ChannelRoundTrip, seconds: float, model: str
) -> dict[str, Any]:
    srv.peer.send("/liveai/learn")
    wait_status(srv, lambda s: s["learning"] not in ("idle", "starting", "reading"))
    run = harmonize(srv, send, trip, seconds)
    run["stage"] = srv.status()["learning"]  # still learning when the turn ended
    srv.peer.send("/liveai/learn/stop")
    wait_status(srv, lambda s: s["learning"] == "idle")  # its weights play (or it failed)
    back_to(srv, model)  # the same weights for the next turn
    return run


def back_to(srv: PlayServer, model: str) -> None:
    for _ in range(10):
        srv.peer.send("/liveai/model", model)
        try:
            wait_status(srv, lambda s: s["model"] == model, timeout=3.0)
            return
        except TimeoutError:
            continue  # `busy`: a switch was still loading
    raise TimeoutError(f"the model did not go back to {model}")


def swap_turn(
    srv: PlayServer, send: Any, trip: ChannelRoundTrip, seconds: float, names: list[str] | None
) -> dict[str, Any]:
    """Harmonize on a thread; pings from here, and a switch every SWAP_EVERY_S. The
    deadline misses and pings within WINDOW_S of each switch (of the same moments,
    steady) are kept apart: what the switches cause, against the machine's own misses."""
    before = srv.status()
    result: dict[str, Any] = {}
    player = threading.Thread(target=lambda: result.update(play(send, trip, seconds)))
    srv.answers.drain()
    player.start()
    rtts, near, lost, windows, next_swap, i = [], [], 0, [], time.perf_counter() + 0.5, 0
    window: tuple[float, int] | None = None
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        now = time.perf_counter()
        if now >= next_swap and now + WINDOW_S < end:
            window = (now + WINDOW_S, srv.status()["deadline_misses"])
            if names:
                srv.peer.send("/liveai/model", names[i % len(names)])
            next_swap, i = next_swap + SWAP_EVERY_S, i + 1
        elif window is not None and now >= window[0]:
            windows.append(srv.status()["deadline_misses"] - window[1])
            window = None
        rtt = ping_round_trip(srv.peer.send, srv.answers, int(time.perf_counter() * 1e6) % 2**31)
        rtts.append(rtt) if rtt is not None else None
        near.append(rtt) if rtt is not None and window is not None else None
        lost += rtt is None
        time.sleep(0.01)
    player.join()
    after = srv.status()
    result.update(
        deadline_misses=after["deadline_misses"] - before["deadline_misses"],
        pings=rtts,
        pings_lost=lost,
        swaps=after["models_switched"] - before["models_switched"],
        swap_ms=after.get("model_swap_ms"),
        window_misses=windows,
        window_pings=near,
    )
    return result


def windows(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The misses and pings within WINDOW_S of each switch (or of the same moments)."""
    counts = [m for r in runs for m in r["window_misses"]]
    return {
        "windows": len(counts),
        "deadline_misses": sum(counts),
        "per_window": round(sum(counts) / len(counts), 3) if counts else None,
        "ping": summarize([x for r in runs for x in r["window_pings"]], 0, 0),
    }


def bench_learn_live(model: str = "gru", seconds: float = 10.0, turns: int = 3) -> dict[str, Any]:
    real = learn_available()
    with tempfile.TemporaryDirectory() as home, ExitStack() as stack:
        data = Path(home) / "liveai"
        write_takes(data / "recorded")
        (data / "models").mkdir(parents=True)
        shutil.copy(shipped_dir() / f"{model}.pt", data / "models" / f"{model}-copy.pt")
        learner = (
            f"{sys.executable} -m liveai learn --minutes 60"
            if real
            else f"{sys.executable} -m liveai.bench.learn_live standin"
        )
        env = {**os.environ, "XDG_DATA_HOME": home, "LIVEAI_LEARN_COMMAND": learner}
        srv = PlayServer(stack, model, ["server.mode=harmonize", "harmonize.by=harmony"], env=env)
        trip = ChannelRoundTrip()
        srv.answers.round_trip = trip
        send, sock = osc_sender(srv.port)
        stack.callback(sock.close)
        play_notes([send], trip, RATE, 1.0, channels=16)  # warm-up
        quiet, learning, steady, swapping = [], [], [], []
        for _ in range(turns):  # A/B in turns: what the machine does meanwhile falls on both
            quiet.append(harmonize(srv, send, trip, seconds))
            learning.append(learning_turn(srv, send, trip, seconds, model))
            steady.append(swap_turn(srv, send, trip, seconds, None))
            swapping.append(swap_turn(srv, send, trip, seconds, [f"{model}-copy", model]))
    without, with_ = pooled(quiet), pooled(learning)
    calm, swapped = pooled(steady), pooled(swapping)
    ping_calm = summarize([x for r in steady for x in r["pings"]], 0, sum(r["pings_lost"] for r in steady))
    ping_swap = summarize(
        [x for r in swapping for x in r["pings"]], 0, sum(r["pings_lost"] for r in swapping)
    )
    return {
        "machine": machine(),
        "commit": commit(),
        "model": model,
        "rate_notes_s": RATE,
        "seconds_per_turn": seconds,
        "turns": turns,
        "learner": "liveai learn"
        if real
        else "stand-in: a CPU-bound child keeping liveai learn's contract "
        "(liveai learn is not in this liveai), at nice 19, one thread",
        "harmonize": {
            "without_learning": without,
            "with_learning": with_,
            "p99_ratio": _ratio(with_, without, "p99_ms"),
            "still_learning_at_each_turns_end": [r["stage"] for r in learning],
        },
        "weight_swap": {
            "swaps": sum(r["swaps"] for r in swapping),
            "every_s": SWAP_EVERY_S,
            "harmonize_steady": calm,
            "harmonize_swapping": swapped,
            "deadline_misses_steady": calm["deadline_misses"],
            "deadline_misses_swapping": swapped["deadline_misses"],
            "ping_steady": ping_calm,
            "ping_swapping": ping_swap,
            "ping_p99_ratio": _ratio(ping_swap, ping_calm, "p99_ms"),
            f"within_{WINDOW_S:g}_s_steady": windows(steady),
            f"within_{WINDOW_S:g}_s_of_a_switch": windows(swapping),
            "last_swap_ms": swapping[-1]["swap_ms"],
        },
    }


def _ratio(a: dict[str, Any], b: dict[str, Any], key: str) -> float | None:
    return round(a[key] / b[key], 3) if key in a and key in b and b[key] else None


def standin(argv: list[str]) -> int:
    """A learner that keeps `liveai learn`'s contract and keeps one core busy until
    SIGTERM (or an hour): JSON lines, then the shipped weights as NAME.pt."""
    parser = argparse.ArgumentParser(prog="learn-standin")
    parser.add_argument("folder")
    parser.add_argument("--name", required=True)
    parser.add_argument("--model-folder", required=True)
    parser.add_argument("--model", default="gru")
    parser.add_argument("--seconds", type=float, default=3600.0)
    args, _ = parser.parse_known_args(argv)
    stopped: list[int] = []
    signal.signal(signal.SIGTERM, lambda *_: stopped.append(1))
    print(json.dumps({"stage": "reading"}), flush=True)
    start, step, x = time.monotonic(), 0, 0.0
    while not stopped and time.monotonic() - start < args.seconds:
        for i in range(200_000):  # CPU-bound, as a training step is
            x = (x + i * 1.000001) % 1e6
        step += 1
        print(json.dumps({"stage": "learning", "step": step, "steps": 0, "eta_s": 0}), flush=True)
    path = Path(args.model_folder) / f"{args.name}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(shipped_dir() / f"{args.model}.pt", path)
    print(json.dumps({"stage": "done", "path": str(path), "before": {}, "after": {}}), flush=True)
    return 0


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "standin":
    sys.exit(standin(sys.argv[2:]))
